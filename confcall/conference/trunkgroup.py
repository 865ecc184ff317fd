"""Several trunks (spans) used as one pool for outgoing calls.

Why: a callback or an invitation may leave on any free channel of the carrier's trunk group;
the span with the most free channels takes it, which spreads load and keeps one span's
failure from blocking calls while others have room.
"""
from __future__ import annotations

from typing import Callable, Sequence

from confcall.dahdi.legs import CallLeg, LegEvent, Trunk

__all__ = ["TrunkGroup"]


class TrunkGroup:
    def __init__(self, trunks: Sequence[Trunk], name: str = "group") -> None:
        if not trunks:
            raise ValueError(f"trunk group {name!r} has no trunks")
        self.trunks = list(trunks)
        self.name = name

    def free_channels(self) -> int:
        return sum(t.free_channels() for t in self.trunks)

    def dial(self, number: str, caller_id: str = "", *,
             listener: Callable[[CallLeg, LegEvent], None] | None = None) -> CallLeg:
        """Dial on the least loaded trunk (a full group fails the leg with cause 34)."""
        trunk = max(self.trunks, key=lambda t: t.free_channels())
        return trunk.dial(number, caller_id, listener=listener)
