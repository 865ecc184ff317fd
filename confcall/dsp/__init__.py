"""confcall.dsp: the media engine and its numba DSP stages.

One module per stage, each holding per-channel state as arrays over *all* channels so one
numba call per 20 ms tick processes every channel (``g711``, ``echo``, ``dtmf``,
``keysuppress``, ``mixer``), and ``engine.MediaEngine`` chaining them (one fused kernel over
the stages' per-channel functions). Kernels are compiled ``@njit(nogil=True, cache=True,
_nrt=False)``: they never allocate, and without numba's reference counting a per-channel
array view costs nothing (its atomic increments were a third of the DTMF detector's time);
hot loops index 1-D views from 0 so numba's negative-index test drops out and they vectorise.
The public surface:

* ``MediaEngine(nchan, laws, deliver, on_event)`` – ``process_tick(rx_codes, tx_codes)``,
  ``start(read, write)``/``stop()``, commands ``register_sound``, ``join``, ``leave``, ``mute``,
  ``deaf``, ``set_gains``, ``hear_music``, ``play``, ``stop_prompt``, ``waiting_music``,
  ``background_music``, ``echo_canceller``, ``key_suppression``, ``set_law``,
  ``reset_channel``, ``status``, ``levels_dbm0``; events ``DigitEvent`` and ``PromptDone``.
* ``LAW_MULAW`` (1) / ``LAW_ALAW`` (2), as DAHDI.
* ``dtmf.generate(digits, level_dbm0, on_ms, off_ms)`` and ``dtmf.tones`` for simulated
  subscribers; ``g711.alaw_encode``/``ulaw_encode``/``alaw_decode``/``ulaw_decode``.
"""
import hashlib
import shutil
from pathlib import Path

import numba


def _cache_per_source() -> None:
    """Give numba's cache one subdirectory per version of this package's sources.

    numba keys a cached kernel on its own file only, but the engine's fused kernel inlines the
    stages' kernels and constants: after a stage module changes, a cached engine would run the
    old stage code (with a changed array size, writing out of bounds). Hashing every source
    file of the package makes any change a cold cache. Only when a cache directory is
    configured (``NUMBA_CACHE_DIR``: scripts/setup.sh, the tests and the benchmarks set it)."""
    base = numba.config.CACHE_DIR
    if not base:
        return
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    mine = Path(base) / f"dsp-{h.hexdigest()[:16]}"
    for old in Path(base).glob("dsp-*"):  # earlier versions' kernels: never loaded again
        if old != mine:
            shutil.rmtree(old, ignore_errors=True)
    numba.config.CACHE_DIR = str(mine)


_cache_per_source()  # before the stage modules compile or load their kernels

from . import dtmf, echo, g711, keysuppress, mixer  # noqa: E402
from .engine import BLOCK, DigitEvent, MediaEngine, PromptDone  # noqa: E402
from .g711 import LAW_ALAW, LAW_MULAW  # noqa: E402

__all__ = [
    "BLOCK",
    "LAW_ALAW",
    "LAW_MULAW",
    "DigitEvent",
    "MediaEngine",
    "PromptDone",
    "dtmf",
    "echo",
    "g711",
    "keysuppress",
    "mixer",
]
