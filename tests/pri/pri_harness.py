"""A carrier switch (libpri NET) and confcall's trunk (libpri CPE) on one simulated span."""
from __future__ import annotations

import numpy as np

from confcall.conference import MediaService
from confcall.dahdi import BChannelBatch, Span
from confcall.dahdi.pri_trunk import PriTrunk
from confcall.sim import SimCard, SimSwitch, VirtualMediaClock


def tone(freq: float, seconds: float, level: int = 6000) -> np.ndarray:
    n = np.arange(int(8000 * seconds))
    return (level * np.sin(2 * np.pi * freq * n / 8000)).astype(np.int16)


class PriHarness:
    def __init__(self, line: str = "E1", switchtype: str = "euroisdn_e1", *,
                 media: bool = False, ring_timeout: float = 60.0,
                 t309_ms: int | None = None) -> None:
        self.card = SimCard([(line, "pri")]).install()
        sim = self.card.spans[0]
        self.clock = VirtualMediaClock(self.card)
        self.reactor = self.clock.reactor
        self.span = Span.open(1, range(sim.basechan, sim.basechan + sim.totalchans))
        self.incoming: list = []
        self.status: list[str] = []
        self.trunk = PriTrunk(self.span, self.reactor, switchtype=switchtype,
                              on_incoming=self.incoming.append, on_status=self.status.append,
                              t309_ms=t309_ms)
        self.switch = SimSwitch(sim, self.reactor, switchtype=switchtype,
                                ring_timeout=ring_timeout)
        self.clock.add_hook(self.trunk.service)
        self.clock.add_hook(self.switch.service)
        self.media = None
        if media:
            self.batch = BChannelBatch(self.span.bchannels)
            self.media = MediaService(self.batch, echo_cancel=False)
            self.clock.add_hook(self.media.tick)
        assert self.clock.run_until(lambda: self.trunk.up and self.switch.up, 5.0), \
            "the D-channel did not come up"

    def run(self, seconds: float) -> None:
        self.clock.run(seconds)

    def run_until(self, pred, timeout: float = 10.0) -> bool:
        return self.clock.run_until(pred, timeout)

    def close(self) -> None:
        self.trunk.link.stop()
        self.switch.link.stop()
        self.span.close()
        self.card.uninstall()
