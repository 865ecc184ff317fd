import pytest

from confcall.sim import SimCard


@pytest.fixture
def make_card():
    """Install a simulated card for one test; always restore libc afterwards."""
    cards = []

    def make(spans=(("E1", "pri"),)):
        card = SimCard(spans).install()
        cards.append(card)
        return card

    yield make
    for card in cards:
        card.uninstall()
