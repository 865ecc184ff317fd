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

__all__ = ["MediaService"]


class MediaService:
    def __init__(self, batch: BChannelBatch, *, deliver: Callable[..., Any] | None = None,
                 echo_cancel: bool = True) -> None:
        self.batch = batch
        self.row = {ch.channo: i for i, ch in enumerate(batch.channels)}
        kwargs: dict[str, Any] = {"on_event": self._on_event, "echo_cancel": echo_cancel}
        if deliver is not None:
            kwargs["deliver"] = deliver
        self.engine = MediaEngine(len(batch), batch.laws, **kwargs)
        self.sounds: dict[str, int] = {}
        self._on_done: dict[int, Callable[[], None]] = {}
        self.digit_listeners: dict[int, Callable[[DigitEvent], None]] = {}

    # -- sounds and prompts -----------------------------------------------------------------------
    def add_sound(self, name: str, audio: np.ndarray) -> int:
        """Register 8 kHz int16 audio under ``name`` (at start-up)."""
        sid = self.engine.register_sound(np.asarray(audio, dtype=np.int16))
        self.sounds[name] = sid
        return sid

    def _row(self, channo: int) -> int:
        try:
            return self.row[channo]
        except KeyError:
            raise ValueError(f"channel {channo} is not a B-channel of this media service")

    def play(self, channo: int, sound: str, on_done: Callable[[], None] | None = None) -> None:
        """Play ``sound`` to that channel only; ``on_done`` runs when it has been heard out."""
        if sound not in self.sounds:
            raise KeyError(f"no sound named {sound!r}; known: {', '.join(sorted(self.sounds))}")
        row = self._row(channo)
        if on_done is not None:
            self._on_done[row] = on_done
        else:
            self._on_done.pop(row, None)
        self.engine.play(row, self.sounds[sound])

    def stop(self, channo: int) -> None:
        row = self._row(channo)
        self._on_done.pop(row, None)
        self.engine.stop_prompt(row)

    # -- the tick -----------------------------------------------------------------------------------
    def tick(self) -> None:
        self.batch.read()
        self.engine.process_tick(self.batch.rx, self.batch.tx)
        self.batch.write()

    def _on_event(self, ev: Any) -> None:
        if isinstance(ev, PromptDone):
            cb = self._on_done.pop(ev.chan, None)
            if cb is not None:
                cb()
        elif isinstance(ev, DigitEvent):
            listener = self.digit_listeners.get(self.batch.channels[ev.chan].channo)
            if listener is not None:
                listener(ev)
