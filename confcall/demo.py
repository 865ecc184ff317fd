"""`confcall demo`: the main job on the embedded default, with a simulated card.

What it shows now (grows with every issue): a two-span E1 card brought up through the real
shim, audio crossing every B-channel each 20 ms tick, span and channel status refreshed live,
and a scripted line fault — span 2 loses signal (RED/LOS with bit errors), recovers, then span 1
sees a remote alarm (YELLOW) — so the operator watches DAHDI events arrive and clear.

The session takes its reactor and output stream as arguments: the CLI runs it on the real
reactor in real time; the tests run the same code on a ``task.Clock`` in virtual time.
"""
from __future__ import annotations

import sys
from typing import IO, Any, Callable

from twisted.internet import task

from confcall.console import render_reports
from confcall.dahdi import BChannelBatch, Span
from confcall.dahdi.constants import event_name
from confcall.dahdi.inventory import inventory

__all__ = ["DemoSession", "SCRIPT"]

TICK_S = 0.020

# (seconds from start, what happens, callable on the card)
SCRIPT: list[tuple[float, str, Callable[[Any], None]]] = [
    (4.0, "span 2 loses signal (RED/LOS), line errors counted",
     lambda card: (card.spans[1].raise_alarm("RED", "LOS"),
                   card.spans[1].add_errors(bpv=17, crc4=5, fas=2))),
    (9.0, "span 2 signal restored", lambda card: card.spans[1].clear_alarm()),
    (12.0, "span 1: far end reports a remote alarm (YELLOW/RAI)",
     lambda card: card.spans[0].raise_alarm("YELLOW")),
    (15.0, "span 1 remote alarm cleared", lambda card: card.spans[0].clear_alarm()),
]


class DemoSession:
    """A simulated card driven by ``reactor``; prints what happens to ``out``."""

    def __init__(self, reactor: Any, out: IO[str] = sys.stdout, *, duration: float = 20.0,
                 refresh_s: float = 1.0, live_screen: bool | None = None) -> None:
        from fake_span import SimCard  # the simulator ships with confcall for the demo

        self.reactor = reactor
        self.out = out
        self.duration = duration
        self.refresh_s = refresh_s
        self.live_screen = out.isatty() if live_screen is None else live_screen
        self.card = SimCard([("E1", "pri"), ("E1", "pri")],
                            devicetype="Simulated 2-span E1 (demo)")
        self.t = 0.0
        self.log: list[str] = []
        self.alarm_events = 0
        self._calls: list[Any] = []
        self._loops: list[task.LoopingCall] = []
        self.done = False

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        self.card.install()
        self.spans = [Span.open(1, range(1, 32)), Span.open(2, range(32, 63))]
        self.batch = BChannelBatch([c for s in self.spans for c in s.bchannels])
        self._far_end_tones()
        self._say(f"card up: {len(self.spans)} E1 spans, {len(self.batch)} B-channels, "
                  f"D-channels {[s.dchannel.channo for s in self.spans if s.dchannel]}")
        for at, what, action in SCRIPT:
            if at < self.duration or self.duration <= 0:
                self._calls.append(self.reactor.callLater(at, self._step, what, action))
        for period, fn in ((TICK_S, self._tick), (0.1, self._events),
                           (self.refresh_s, self._show)):
            loop = task.LoopingCall(fn)
            loop.clock = self.reactor
            loop.start(period, now=False)
            self._loops.append(loop)
        if self.duration > 0:
            self._calls.append(self.reactor.callLater(self.duration, self.stop))

    def stop(self) -> None:
        if self.done:
            return
        self.done = True
        for loop in self._loops:
            if loop.running:
                loop.stop()
        for call in self._calls:
            if call.active():
                call.cancel()
        self._say(f"demo finished after {self.t:.1f} s: {self.alarm_events} alarm events seen")
        for s in self.spans:
            s.close()
        self.card.uninstall()

    # -- what runs ----------------------------------------------------------------------------
    def _far_end_tones(self) -> None:
        """Give a few timeslots a far-end 1 kHz tone so audio visibly crosses the batch."""
        import numpy as np

        from confcall.dahdi.constants import Law
        from confcall.dsp.g711 import alaw_encode
        n = np.arange(8)
        pcm = (8000 * np.sin(2 * np.pi * 1000 * n / 8000)).astype(np.int16)
        period = alaw_encode(pcm).tobytes() * 20
        for channo in (1, 2, 3, 33, 34):
            sim = self.card.channel(channo)
            assert sim is not None and sim.law == Law.ALAW
            sim.source = lambda size, p=period: p[:size]

    def _tick(self) -> None:
        self.t += TICK_S
        self.card.tick()
        self.batch.read()
        self.batch.tx[:] = self.batch.rx  # loop the far end's audio back, byte for byte
        self.batch.write()

    def _events(self) -> None:
        for span in self.spans:
            for ev in span.poll_events():
                if ev.channo in (s.dchannel.channo for s in self.spans if s.dchannel):
                    st = span.status()
                    self.alarm_events += 1
                    alarms = "/".join(st.alarm_names) or "none"
                    self._say(f"span {span.spanno}: DAHDI event {event_name(ev.event)} on "
                              f"D-channel {ev.channo}; SPANSTAT alarms={alarms} "
                              f"BPV={st.bpv} CRC4={st.crc4} FAS={st.fas}")

    def _step(self, what: str, action: Callable[[Any], None]) -> None:
        self._say(f"fault script: {what}")
        action(self.card)

    def _show(self) -> None:
        text = render_reports(inventory(), self._active())
        if self.live_screen:
            self.out.write("\x1b[H\x1b[2J")
            self.out.write(f"confcall demo — t={self.t:5.1f} s\n{text}\n\nrecent events:\n")
            self.out.write("\n".join(self.log[-8:]) + "\n")
        else:
            self.out.write(f"--- t={self.t:5.1f} s\n{text}\n")
        self.out.flush()

    def _active(self) -> set[int]:
        """Channels whose last block carried audio (the far end's tone looped back)."""
        busy = (self.batch.rx != self.batch.idle[:, None]).any(axis=1)
        return {c.channo for c, b in zip(self.batch.channels, busy) if b}

    def _say(self, msg: str) -> None:
        line = f"[{self.t:6.2f}s] {msg}"
        self.log.append(line)
        if not self.live_screen:
            self.out.write(line + "\n")
            self.out.flush()

