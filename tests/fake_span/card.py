"""A simulated card: several spans with DAHDI's global channel numbering.

E1 span 1 holds channels 1–31, span 2 starts at 32, a T1 after them takes 24 numbers, exactly
as /etc/dahdi/system.conf numbers them on a real multi-span card.
"""
from __future__ import annotations

from typing import Iterable

from .device import FakeDahdi
from .span import SimChannel, SimSpan

__all__ = ["SimCard"]


class SimCard:
    """``SimCard([("E1", "pri"), ("E1", "cas")])`` — spans numbered from 1."""

    def __init__(self, spans: Iterable[tuple[str, str]] = (("E1", "pri"),), *,
                 manufacturer: str = "confcall", devicetype: str = "Simulated E1/T1 card",
                 location: str = "fake_span") -> None:
        self.manufacturer = manufacturer
        self.devicetype = devicetype
        self.location = location
        self.spans: list[SimSpan] = []
        base = 1
        for i, (line, sig) in enumerate(spans, start=1):
            span = SimSpan(i, line, sig, basechan=base, syncsrc=1 if i == 1 else 0)
            self.spans.append(span)
            base += span.totalchans
        if not self.spans:
            raise ValueError("a card needs at least one span")
        self._by_channo = {c.channo: c for s in self.spans for c in s.channels}
        self.device = FakeDahdi(self)

    def span(self, spanno: int) -> SimSpan | None:
        return self.spans[spanno - 1] if 1 <= spanno <= len(self.spans) else None

    def channel(self, channo: int) -> SimChannel | None:
        return self._by_channo.get(channo)

    def tick(self) -> None:
        """One 20 ms media tick on every span."""
        for span in self.spans:
            span.tick()

    def install(self) -> "SimCard":
        """Route this process's DAHDI calls to this card."""
        self.device.install()
        return self

    def uninstall(self) -> None:
        self.device.uninstall()
        for span in self.spans:
            span.close()

    def __enter__(self) -> "SimCard":
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()
