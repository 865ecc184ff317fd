"""confcall's R2 trunk (OpenR2) against the simulated R2 carrier on one E1 CAS span, in virtual
time; optionally with the media engine over the span's channels (the audio hand-over)."""
from __future__ import annotations

from confcall.conference import MediaService
from confcall.dahdi import BChannelBatch, Span
from confcall.dahdi.r2_trunk import R2Options, R2Trunk
from confcall.sim import SimCard, SimPhone, VirtualMediaClock
from confcall.sim.r2switch import SimR2Switch


class R2Harness:
    def __init__(self, *, media: bool = False, options: R2Options | None = None) -> None:
        self.card = SimCard([("E1", "cas")]).install()
        self.sim = self.card.spans[0]
        self.clock = VirtualMediaClock(self.card)
        self.reactor = self.clock.reactor
        self.span = Span.open(1, [c.channo for c in self.sim.channels if c.sigtype])
        self.incoming: list = []
        self.status: list[str] = []
        opts = options or R2Options(numbers=("95000", "95001"), answer_timeout_s=30.0,
                                    setup_timeout_s=10.0)
        self.trunk = R2Trunk(self.span, self.reactor, options=opts,
                             on_incoming=self.incoming.append, on_status=self.status.append)
        self.switch = SimR2Switch(self.sim, self.reactor)
        self.clock.add_hook(self.trunk.service)
        self.clock.add_hook(self.switch.service)
        self.batch = self.media = None
        if media:
            self.batch = BChannelBatch(self.span.cas, lent=[True] * len(self.span.cas))
            self.trunk.attach_media(self.batch)
            self.media = MediaService(self.batch, echo_cancel=False)
            self.clock.add_hook(self.media.tick)
        self.clock.run(0.1)

    def phone(self, number: str, **kwargs) -> SimPhone:
        return self.switch.add_phone(SimPhone(number, **kwargs))

    def run(self, seconds: float) -> None:
        self.clock.run(seconds)

    def run_until(self, pred, timeout: float = 10.0) -> bool:
        return self.clock.run_until(pred, timeout)

    def close(self) -> None:
        self.switch.stop()
        self.trunk.stop()
        if self.batch is not None:
            self.batch.close()
        self.span.close()
        self.card.uninstall()
