"""Call control's handle on the media engine: channel numbers in, engine rows out.

Why a layer: call control speaks of DAHDI channel numbers and named sounds ("confirmed",
"waiting music"); the engine speaks of rows of its channel array and sound ids. This class
holds that mapping, turns ``PromptDone`` events into per-play callbacks, and runs one tick as
read all B-channels → engine → write all B-channels (tests call ``tick()`` from the virtual
clock; the daemon runs the same in the engine's own thread).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from confcall.dahdi import BChannelBatch
from confcall.dsp.engine import DigitEvent, MediaEngine, PromptDone
from confcall.tickstats import TickStats

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

    # -- the tick ----------------------------------------------------------------------------------
    def tick(self) -> None:
        self.batch.read()
        self._drain_events()
        self.tick_stats.begin()
        self.engine.process_tick(self.batch.rx, self.batch.tx)
        self.tick_stats.end()
        self.batch.write()

    def _drain_events(self) -> None:
        """A B-channel with a DAHDI event pending reads nothing until it is fetched; the span's
        own alarm handling is in the trunk, so here the events are only cleared."""
        if not self.batch.any_events():
            return
        for i in self.batch.rows_with_events():
            ch = self.batch.channels[int(i)]
            if not ch.closed:
                ch.drain_events()

    # -- the media thread (production) ----------------------------------------------------------
    def start_thread(self, wait_ms: int = 100) -> None:
        """Run ticks in the engine's own thread, paced by the span: wait until the first
        channel has a block (DAHDI delivers every 20 ms), then read all, process, write all."""
        from confcall.dahdi._shim import ffi, lib

        pfd = ffi.new("struct pollfd[1]")

        def read(rx: np.ndarray) -> bool:
            fd = self.batch.pacing_fd()
            if fd < 0:
                return self._running
            pfd[0].fd = fd
            pfd[0].events = lib.POLLIN
            pfd[0].revents = 0
            lib.dshim_poll(pfd, 1, wait_ms)
            self.batch.read()
            self._drain_events()
            rx[:] = self.batch.rx
            self.tick_stats.begin()
            return self._running

        def write(tx: np.ndarray) -> None:
            self.tick_stats.end()
            self.batch.tx[:] = tx
            self.batch.write()

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
