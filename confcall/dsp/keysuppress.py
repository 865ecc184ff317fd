"""Key suppression: keep a member's DTMF out of what the other members hear.

What it does
------------
Delays every member's contribution to the conference by a short look-ahead (``LOOKAHEAD`` =
160 samples, 20 ms) and silences it from *before* the first evidence of a DTMF tone until just
after the last, so that not even the leading edge of a key press reaches the others (the
requirement of issue 4: 0 ms of tone energy leaks). Speech that briefly looks like a tone is
muted only for the span of that evidence (a few tens of ms) and passes again at once.

How it works
------------
The DTMF detector (``dtmf.rx``) reports, per channel and chunk, the offsets at which 102-sample
evidence windows ended (``kfirst``/``klast``). If a tone started at ``s`` the first evidence
window fully inside it ends at ``e <= s + 152``, so muting from ``e - PRE`` (``PRE`` = 153 + 8
samples of margin) always precedes the tone; a tone ends before ``e_last + 51``, so muting
continues until ``e_last + POST`` (59 samples). The audio waits in a per-channel ring of
``RING`` samples; since ``e`` is at least one sample into the current chunk, ``e - PRE`` is never
earlier than the oldest sample not yet played out, which is why ``LOOKAHEAD >= PRE - 1``.

How to use it
-------------
``st = init(nchan)``; per chunk, after ``dtmf.rx``: ``process(st, x, dtmf_st.kfirst,
dtmf_st.klast, out)`` writes the delayed, suppressed float32 audio to ``out`` (same shape as
``x``, any chunk length up to ``RING - LOOKAHEAD``). ``st.episodes[c]`` counts mute episodes
(for false-mute statistics), ``st.muted[c]`` is 1 if any sample of the chunk was muted.
"""
from __future__ import annotations

import numpy as np
from numba import njit

LOOKAHEAD = 160  # samples (20 ms) of added delay in the mix path
PRE = 153 + 8  # samples muted before the end of the first evidence window
POST = 51 + 8  # samples muted after the end of the last evidence window
RING = 512  # samples per channel ring (power of two)
_MASK = RING - 1


class KeySuppressState:
    def __init__(self, nchan: int):
        self.nchan = nchan
        self.ring = np.zeros((nchan, RING), np.float32)
        self.flag = np.zeros((nchan, RING), np.uint8)  # 1 = muted sample
        self.nsamp = np.zeros(nchan, np.int64)
        self.mute_until = np.full(nchan, -(1 << 40), np.int64)
        self.episodes = np.zeros(nchan, np.int64)
        self.muted = np.zeros(nchan, np.uint8)
        self.enabled = np.ones(nchan, np.uint8)


def init(nchan: int) -> KeySuppressState:
    return KeySuppressState(nchan)


def reset(st: KeySuppressState, chans=None) -> None:
    sel = slice(None) if chans is None else np.asarray(chans)
    st.ring[sel] = 0.0
    st.flag[sel] = 0
    st.mute_until[sel] = st.nsamp[sel]
    st.muted[sel] = 0


def status(st: KeySuppressState, c: int) -> dict:
    return {"episodes": int(st.episodes[c]), "muted": bool(st.muted[c]),
            "enabled": bool(st.enabled[c])}


def process(st: KeySuppressState, x, kfirst, klast, out) -> int:
    return _process(x, kfirst, klast, out, st.ring, st.flag, st.nsamp, st.mute_until,
                    st.episodes, st.muted, st.enabled)


@njit(nogil=True, cache=True)
def _ring_put(ring, c, a0, src, n):
    """ring[c, (a0 + i) & _MASK] = src[i] as (at most) two contiguous copies (vectorised)."""
    s = a0 & _MASK
    m = min(n, RING - s)
    dst = ring[c, s : s + m]
    for i in range(m):
        dst[i] = src[i]
    dst = ring[c, : n - m]
    for i in range(n - m):
        dst[i] = src[m + i]


@njit(nogil=True, cache=True)
def _ring_get(ring, c, a0, dst, n):
    s = a0 & _MASK
    m = min(n, RING - s)
    src = ring[c, s : s + m]
    for i in range(m):
        dst[i] = src[i]
    src = ring[c, : n - m]
    for i in range(n - m):
        dst[m + i] = src[i]


@njit(nogil=True, cache=True)
def _process(x, kfirst, klast, out, ring, flag, nsamp, mute_until, episodes, muted, enabled):
    nch, n = x.shape
    for c in range(nch):
        base = nsamp[c]
        mu = mute_until[c]
        _ring_put(ring, c, base, x[c], n)
        if mu <= base:  # the usual case: nothing of this chunk muted (so far)
            s0 = base & _MASK
            m0 = min(n, RING - s0)
            flag[c, s0 : s0 + m0] = 0
            flag[c, : n - m0] = 0
        else:
            for i in range(n):
                a = base + i
                flag[c, a & _MASK] = 1 if a < mu else 0
        if klast[c] >= 0 and enabled[c]:
            s = base + kfirst[c] - PRE
            lo = base - LOOKAHEAD
            s = max(s, lo)
            if s >= mu:
                episodes[c] += 1
            e = base + klast[c] + POST
            hi = base + n
            for a in range(s, min(e, hi)):
                flag[c, a & _MASK] = 1
            if e > mu:
                mute_until[c] = e
        m = 0
        if base >= LOOKAHEAD and mute_until[c] <= base - LOOKAHEAD:
            # every muted sample lies before mute_until: none in the delayed output
            _ring_get(ring, c, base - LOOKAHEAD, out[c], n)
        else:
            for i in range(n):
                a = base + i - LOOKAHEAD
                if a < 0:
                    out[c, i] = 0.0
                elif flag[c, a & _MASK]:
                    out[c, i] = 0.0
                    m = 1
                else:
                    out[c, i] = ring[c, a & _MASK]
        muted[c] = m
        nsamp[c] = base + n
    return nch
