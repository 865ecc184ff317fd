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
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numba

_PRUNE_AFTER_S = 30 * 86400  # another version's kernels unused this long are deleted


def _cache_root() -> str:
    """Where numba's cache goes: ``NUMBA_CACHE_DIR`` when set (scripts/setup.sh, the tests and
    the benchmarks set it), else a per-user directory (``$XDG_CACHE_HOME/confcall/numba``,
    ``~/.cache/confcall/numba``, or one in the temp directory). Never numba's own default
    (``__pycache__`` next to the sources), where a kernel is keyed on its own file only and the
    guard below could not work."""
    if numba.config.CACHE_DIR:
        return str(numba.config.CACHE_DIR)
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    for cand in (Path(home) / "confcall" / "numba",
                 Path(tempfile.gettempdir()) / f"confcall-numba-{uid}"):
        try:
            cand.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(cand, os.W_OK):
            return str(cand)
    return ""


def _cache_per_source() -> None:
    """Give numba's cache one subdirectory per version of this package's kernel sources.

    numba keys a cached kernel on its own file only, but the engine's fused kernel inlines the
    stages' kernels and constants: after a stage module changes, a cached engine would run the
    old stage code (with a changed array size, writing out of bounds). Hashing every kernel
    source of the package makes any change a cold cache. Other versions' directories are left
    alone (two installed versions, or two checkouts sharing a cache, must not delete each
    other's kernels at every import); one unused for 30 days is pruned."""
    base = _cache_root()
    if not base:
        logging.getLogger("confcall.dsp").warning(
            "no writable numba cache directory: kernels are compiled at every start")
        return
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.glob("*.py")):
        if f.name != "__init__.py":  # no kernels here
            h.update(f.name.encode() + f.read_bytes())
    mine = Path(base) / f"dsp-{h.hexdigest()[:16]}"
    try:
        mine.mkdir(parents=True, exist_ok=True)
        os.utime(mine)  # "last used": what the pruning goes by
    except OSError:
        pass
    now = time.time()
    for old in Path(base).glob("dsp-*"):
        try:
            stale = old != mine and now - old.stat().st_mtime > _PRUNE_AFTER_S
        except OSError:
            continue
        if stale:
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
