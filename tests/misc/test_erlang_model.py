"""bench/erlang_model.py: the perfect box that bench/overload.py measures the real one against
(issue 13: is 2 E1's carried load the box's waste or the traffic's loss limit?)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from erlang_model import Phases, ideal_carried  # noqa: E402


def test_a_lone_conference_holds_its_three_channels_until_it_ends():
    # access at 1 s (0.4 s), callback at 3.4 s, keyed 2.5 s later, participants dialled as
    # their numbers are keyed, all released 8 s + the hold after keying: 3.4+2.5+8+60 = 73.9
    carried = ideal_carried(60, 100.0, 0.0, [60.0], [1.0])
    busy_samples = 3 * (74 - 20)  # seconds 20..73 sampled busy 3, 74..99 idle
    assert carried == pytest.approx(busy_samples / 80 / 60)


def test_the_second_conference_finds_no_channel():
    """Three channels: the first conference takes them all; one arriving while it is held is
    refused at the exchange and never adds a channel."""
    alone = ideal_carried(3, 100.0, 0.0, [60.0], [1.0])
    two = ideal_carried(3, 100.0, 0.0, [60.0, 60.0], [1.0, 15.0])
    assert two == pytest.approx(alone) and alone == pytest.approx(54 / 80)


def test_a_callback_refused_for_want_of_a_channel_is_retried():
    """Two channels: the second conference's access call gets the free one, but by its
    callback (2 s later) the first conference holds both; its retries find one after the
    first conference ended (73.9 s): with no retries it is never served."""
    two = [20.0, 20.0], [1.0, 6.0]
    retried = ideal_carried(2, 200.0, 0.0, *two, Phases(callback_retries=2, callback_retry_s=40))
    dropped = ideal_carried(2, 200.0, 0.0, *two, Phases(callback_retries=0))
    alone = ideal_carried(2, 200.0, 0.0, [20.0], [1.0])
    assert dropped == pytest.approx(alone) and retried > alone
