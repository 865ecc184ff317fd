"""Call control's handle on the media engine: channel numbers in, engine rows out.

Why a layer: call control speaks of DAHDI channel numbers and named sounds ("confirmed",
"waiting music"); the engine speaks of rows of its channel array and sound ids. This class
holds that mapping, turns ``PromptDone`` events into per-play callbacks, and runs one tick as
read all B-channels → engine → write all B-channels (tests call ``tick()`` from the virtual
clock; the daemon runs the same in the engine's own thread).
"""
from __future__ import annotations

import errno
import logging
import time
from typing import Any, Callable

import numpy as np

from confcall.dahdi import BChannelBatch
from confcall.dahdi.constants import ELAST, Event
from confcall.dsp.engine import (DigitEvent, MediaEngine, MediaFault, PromptDone, TickGuard,
                                 describe)
from confcall.tickstats import TickStats

log = logging.getLogger("confcall.media")

# a read that fails with one of these is not a fault: no block yet, an event to fetch, a row
# lent to its signalling or detached
_BENIGN_READ = (-errno.EAGAIN, -ELAST, -errno.EINTR)

__all__ = ["MediaService"]


class MediaService:
    def __init__(self, batch: BChannelBatch, *, deliver: Callable[..., Any] | None = None,
                 echo_cancel: bool = True, level_control: bool = False) -> None:
        self.batch = batch
        self.row = {ch.channo: i for i, ch in enumerate(batch.channels)}
        kwargs: dict[str, Any] = {"on_event": self._on_event, "echo_cancel": echo_cancel,
                                  "level_control": level_control}
        if deliver is not None:
            kwargs["deliver"] = deliver
        self.engine = MediaEngine(len(batch), batch.laws, **kwargs)
        self.sounds: dict[str, int] = {}
        self._seconds: dict[str, float] = {}
        self._on_done: dict[int, Callable[[], None]] = {}
        self._queue: dict[int, list[str]] = {}
        self.digit_listeners: dict[int, Callable[[DigitEvent], None]] = {}
        # faults: the daemon clears the calls concerned and shows the alarm (span status)
        self.on_fault: Callable[[MediaFault], None] | None = None
        self.engine.on_fault = self._engine_fault
        self.out_of_service: dict[int, str] = {}  # channo -> why (its channel failed)
        self.guard = TickGuard()  # the tick when it runs on the reactor (tests, --sim)
        self._deliver = deliver
        n = len(batch)
        self._bad = np.zeros(n, np.bool_)  # per-tick scratch: rows whose read truly failed
        self._tmp = np.zeros(n, np.bool_)
        self.tick_stats = TickStats()  # tick durations and liveness (metrics, watchdog)
        self.on_any_digit: Callable[[DigitEvent], None] | None = None  # metrics: every digit

    # -- sounds and prompts -----------------------------------------------------------------------
    def add_sound(self, name: str, audio: np.ndarray) -> int:
        """Register 8 kHz int16 audio under ``name`` (at start-up)."""
        sid = self.engine.register_sound(np.asarray(audio, dtype=np.int16))
        self.sounds[name] = sid
        self._seconds[name] = len(audio) / 8000
        return sid

    def duration(self, name: str) -> float:
        """How long a registered sound plays, in seconds (0 for an unknown name)."""
        return self._seconds.get(name, 0.0)

    def _row(self, channo: int) -> int:
        try:
            return self.row[channo]
        except KeyError:
            raise ValueError(f"channel {channo} is not a B-channel of this media service") \
                from None

    def play(self, channo: int, sound: str, on_done: Callable[[], None] | None = None) -> None:
        """Play ``sound`` to that channel only; ``on_done`` runs when it has been heard out."""
        self.play_sequence(channo, [sound], on_done)

    def play_sequence(self, channo: int, sounds: list[str],
                      on_done: Callable[[], None] | None = None) -> None:
        """Play sounds one after another to one channel, replacing whatever it was hearing."""
        missing = [s for s in sounds if s not in self.sounds]
        if missing:
            raise KeyError(f"no sound named {missing[0]!r}; known: "
                           f"{', '.join(sorted(self.sounds))}")
        row = self._row(channo)
        if not sounds:
            self.stop(channo)
            if on_done is not None:
                on_done()
            return
        self._queue[row] = list(sounds[1:])
        if on_done is not None:
            self._on_done[row] = on_done
        else:
            self._on_done.pop(row, None)
        self.engine.play(row, self.sounds[sounds[0]])

    def stop(self, channo: int) -> None:
        row = self._row(channo)
        self._on_done.pop(row, None)
        self._queue.pop(row, None)
        self.engine.stop_prompt(row)

    # -- conferences ----------------------------------------------------------------------------
    def conference_id(self, channo: int) -> int:
        """A conference is named after its initiator's row: unique while that call lasts."""
        return self._row(channo)

    def join(self, channo: int, conf: int) -> None:
        self.engine.join(self._row(channo), conf)

    def leave(self, channo: int) -> None:
        self.engine.leave(self._row(channo))

    def hear_music(self, channo: int, on: bool) -> None:
        self.engine.hear_music(self._row(channo), on)

    def waiting_music(self, conf: int, sound: str | None) -> None:
        self.engine.waiting_music(conf, None if sound is None else self.sounds[sound],
                                  level_db=-6.0)

    def background_music(self, conf: int, sound: str | None, level_db: float = -18.0) -> None:
        self.engine.background_music(conf, None if sound is None else self.sounds[sound],
                                     level_db)

    def release(self, channo: int) -> None:
        """The call on this channel ended: silence it and forget its DSP state."""
        row = self._row(channo)
        self._on_done.pop(row, None)
        self._queue.pop(row, None)
        self.digit_listeners.pop(channo, None)
        self.engine.stop_prompt(row)
        self.engine.leave(row)
        self.engine.hear_music(row, False)
        self.engine.reset_channel(row)

    # -- the tick ----------------------------------------------------------------------------
    def tick(self) -> None:
        """One tick on the caller's thread (the reactor: tests and the simulated card), with
        the media thread's guard: a failing tick is logged and reported, the next one runs."""
        if self.engine.failed:
            return
        try:
            self.batch.read()
            self._check_reads()
            self._drain_events()
            self.tick_stats.begin()
            self.engine.process_tick(self.batch.rx, self.batch.tx)
            self.tick_stats.end()
            self.batch.write()
        except Exception as e:  # noqa: BLE001 - logged and reported; the next tick runs
            fatal = self.guard.fault(e)
            if fatal:
                self.engine.failed = (f"stopped after {self.guard.in_a_row} failing tick(s): "
                                      f"{self.guard.last}")
            if self.guard.in_a_row == 1 or fatal:
                self._engine_fault(MediaFault(-1, self.guard.last, self.engine.tick, fatal))
            return
        self.guard.ok()

    def restart(self) -> None:
        """After a fatal fault: tick again (the thread too, when the engine runs in one)."""
        self.engine.failed = ""
        self.guard = TickGuard()
        if getattr(self, "_running", False):
            self.engine.start(self._read, self._write)

    def _check_reads(self) -> None:
        """A row whose read failed for real (ENODEV: the card went away, EIO …) is a dead
        channel: take it out of service and report it, so its call is cleared with a cause
        instead of hearing silence while its credit runs. No allocation in the usual tick."""
        st = self.batch.rx_status
        if st.min() >= 0:
            return
        bad, tmp = self._bad, self._tmp
        np.less(st, 0, out=bad)
        for benign in _BENIGN_READ:
            np.not_equal(st, benign, out=tmp)
            np.logical_and(bad, tmp, out=bad)
        np.greater_equal(self.batch.fds, 0, out=tmp)
        np.logical_and(bad, tmp, out=bad)
        if not bad.any():
            return
        for i in np.flatnonzero(bad):
            err = -int(st[i])
            self._channel_fault(int(i), OSError(err, f"channel "
                                                f"{self.batch.channels[int(i)].channo}: "
                                                f"read failed: {errno.errorcode.get(err, err)}"))

    def _drain_events(self) -> None:
        """A B-channel with a DAHDI event pending reads nothing until it is fetched; the span's
        own alarm handling is in the trunk, so here the events are only cleared. A channel
        whose GETEVENT fails (ENODEV) is out of service from now on."""
        if not self.batch.any_events():
            return
        for i in self.batch.rows_with_events():
            ch = self.batch.channels[int(i)]
            if not ch.closed:
                try:
                    events = ch.drain_events()
                except OSError as e:
                    self._channel_fault(int(i), e)
                    continue
                if Event.REMOVED in events:  # DAHDI: the device under this channel is gone
                    self._channel_fault(int(i), OSError(errno.ENODEV, (
                        f"channel {ch.channo}: DAHDI_EVENT_REMOVED (device removed)")))

    def _channel_fault(self, row: int, e: BaseException) -> None:
        """Stop reading ``row`` and tell call control (on its thread) which call died."""
        channo = self.batch.channels[row].channo
        cause = describe(e)
        log.error("media: channel %d out of service: %s", channo, cause)
        self.batch.detach(row)
        fault = MediaFault(row, cause, self.engine.tick)
        if self._deliver is not None:
            self._deliver(self._channel_out_of_service, channo, fault)
        else:
            self._channel_out_of_service(channo, fault)

    def _channel_out_of_service(self, channo: int, fault: MediaFault) -> None:
        self.out_of_service[channo] = fault.cause
        self.release(channo)
        if self.on_fault is not None:
            self.on_fault(fault)

    def _engine_fault(self, fault: MediaFault) -> None:
        if self.on_fault is not None:
            self.on_fault(fault)

    def channo_of(self, row: int) -> int:
        return self.batch.channels[row].channo

    def status(self) -> dict[str, Any]:
        """For `span status` and the control socket: is the engine ticking, what failed."""
        return {"running": not self.engine.failed and (
                    self.engine.running or not getattr(self, "_running", False)),
                "failed": self.engine.failed,
                "faults": self.guard.total + self.engine.guard.total,
                "last_fault": self.engine.guard.last or self.guard.last,
                "out_of_service": dict(sorted(self.out_of_service.items()))}

    # -- the media thread (production) ----------------------------------------------------------
    def start_thread(self, wait_ms: int = 100) -> None:
        """Run ticks in the engine's own thread, paced by the span: wait until the first
        channel has a block (DAHDI delivers every 20 ms), then read all, process, write all."""
        from confcall.dahdi._shim import ffi, lib

        pfd = ffi.new("struct pollfd[1]")

        def read(rx: np.ndarray) -> bool:
            fd = self.batch.pacing_fd()
            if fd < 0:  # every channel out of service: wait, do not spin
                time.sleep(wait_ms / 1000)
                return self._running
            pfd[0].fd = fd
            pfd[0].events = lib.POLLIN
            pfd[0].revents = 0
            lib.dshim_poll(pfd, 1, wait_ms)
            self.batch.read()
            self._check_reads()
            self._drain_events()
            rx[:] = self.batch.rx
            self.tick_stats.begin()
            return self._running

        def write(tx: np.ndarray) -> None:
            self.tick_stats.end()
            self.batch.tx[:] = tx
            self.batch.write()

        self._read, self._write = read, write
        self._running = True
        self.engine.start(read, write)

    def stop_thread(self) -> None:
        self._running = False
        self.engine.stop()

    def _on_event(self, ev: Any) -> None:
        if isinstance(ev, PromptDone):
            rest = self._queue.get(ev.chan)
            if rest:
                self.engine.play(ev.chan, self.sounds[rest.pop(0)])
                return
            self._queue.pop(ev.chan, None)
            cb = self._on_done.pop(ev.chan, None)
            if cb is not None:
                cb()
        elif isinstance(ev, DigitEvent):
            if self.on_any_digit is not None:
                self.on_any_digit(ev)
            listener = self.digit_listeners.get(self.batch.channels[ev.chan].channo)
            if listener is not None:
                listener(ev)
