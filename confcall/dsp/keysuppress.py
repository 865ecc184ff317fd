"""Key suppression: keep a member's DTMF out of what the other members hear.

What it does
------------
Delays every member's contribution to the conference by a short look-ahead (``LOOKAHEAD`` =
263 samples, 32.9 ms of added mouth-to-ear delay) and silences it from *before* the first
evidence of a DTMF tone until after the last, and for as long as the detector holds a digit, so
that not even the leading edge of a key press reaches the others, also when the key is pressed
over the member's own loud speech (issue 19 item 3: a key at -10 dBm0 per tone over speech at
-16 dBm0). Speech that briefly looks like a tone is never muted: the decision needs two
evidence windows and is taken before the audio they cover is played.

How it works
------------
The DTMF detector (``dtmf.rx``) reports, per channel and chunk, the offsets at which
*confirming* mute-evidence windows ended (``kfirst``/``klast``): a 102-sample window whose two
strongest tones pass looser tests than the detector's (``dtmf.MUTE_RATIO``: 62 % of the energy
with the twist within ±4 dB, or 80 % with the detector's twist; the row tone 3 dB over the
other rows, not 6: loud speech under a key takes more than the 25 % the strict evidence allows
and puts its first formant in the row band), confirmed when one of the 2 windows before it
(hop 51) passed on the same digit. Speech passes such a window now and then, two on one digit
within 3 windows rarely (0.04 false mutes a minute on the corpus against 1.4 for one window).
If a tone started at ``s`` the first window fully inside it ends at ``e <= s + 152`` and a
confirming one at most 2 windows later, so muting from ``e_confirm - PRE`` (``PRE`` = 153 + 8 +
102 samples) always precedes the tone; the look-ahead is that long, so the decision is made
before any muted sample is played (nothing tentative is ever heard). Muting continues until
``e_last + POST`` (59 samples for the tone's end, 102 more to bridge windows lost to speech) and
while the detector holds a digit (``held``: every chunk until its end is reported). The audio
waits in a per-channel ring of ``RING`` 16-bit samples (what G.711 carries: the delay and one
chunk, 846 bytes a channel, all of it touched every tick and nothing more, allocated once).
Muting zeroes the waiting samples in place — the mute interval always starts inside the ring
because ``e`` is at least one sample into the current chunk and ``LOOKAHEAD >= PRE - 1`` — and
samples still to come are zeroed as they are stored, up to ``mute_until``. The last two mute
intervals are kept to report whether a chunk played out anything muted (intervals are ≥ 220
samples long, so a chunk meets at most two).

How to use it
-------------
``st = init(nchan)``; per chunk, after ``dtmf.rx``: ``process(st, x, dtmf_st.kfirst,
dtmf_st.klast, out, dtmf_st.digit)`` writes the delayed, suppressed float32 audio to ``out``
(same shape as ``x``, any chunk length up to ``RING - LOOKAHEAD``; samples are rounded to 16 bits).
``st.episodes[c]`` counts mute episodes (for false-mute statistics), ``st.muted[c]`` is 1 if any
sample of the chunk's output was muted. The media engine calls the per-channel kernels
(``chan_in``, ``delayed``) inside its fused tick.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .g711 import q16

LOOKAHEAD = 263  # samples (32.9 ms) of added delay in the mix path
PRE = 153 + 8 + 102  # samples muted before the end of a confirming evidence window
POST = 51 + 8 + 102  # samples muted after the last one (2 windows more: bridges evidence that
#                      loud speech over the key hides for a while)
HELD_POST = 8  # samples muted after the chunk in which the detector still holds a digit
HELD_POST = 8
RING = LOOKAHEAD + 160  # samples per channel ring: the delay and one 20 ms chunk, no more
_NEVER = -(1 << 40)


class KeySuppressState:
    def __init__(self, nchan: int):
        self.nchan = nchan
        self.ring = np.zeros((nchan, RING), np.int16)
        self.nsamp = np.zeros(nchan, np.int64)
        # current and previous mute interval [from, until): mute_until also mutes new samples
        self.mute_from = np.full(nchan, _NEVER, np.int64)
        self.mute_until = np.full(nchan, _NEVER, np.int64)
        self.prev_from = np.full(nchan, _NEVER, np.int64)
        self.prev_until = np.full(nchan, _NEVER, np.int64)
        self.episodes = np.zeros(nchan, np.int64)
        self.muted = np.zeros(nchan, np.uint8)
        self.enabled = np.ones(nchan, np.uint8)

    def arrays(self) -> tuple:
        return (self.ring, self.nsamp, self.mute_from, self.mute_until, self.prev_from,
                self.prev_until, self.episodes, self.muted, self.enabled)


def init(nchan: int) -> KeySuppressState:
    return KeySuppressState(nchan)


def reset(st: KeySuppressState, chans=None) -> None:
    sel = slice(None) if chans is None else np.asarray(chans)
    st.ring[sel] = 0
    for a in (st.mute_from, st.mute_until, st.prev_from, st.prev_until):
        a[sel] = _NEVER
    st.muted[sel] = 0


def status(st: KeySuppressState, c: int) -> dict:
    return {"episodes": int(st.episodes[c]), "muted": bool(st.muted[c]),
            "enabled": bool(st.enabled[c])}


def process(st: KeySuppressState, x, kfirst, klast, out, digit=None) -> int:
    """All channels' chunk ``x``; ``digit``: the detector's held digit per channel (-1 none;
    None: not used)."""
    held = np.full(x.shape[0], -1, np.int8) if digit is None else digit
    return _process(x, kfirst, klast, held, out, st.arrays())


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def _run(dst, src, z):
    """dst[:z] = 0, dst[z:] = src[z:] in 16 bits."""
    for i in range(z):
        dst[i] = 0
    d = dst[z:]
    x = src[z:]
    for i in range(d.shape[0]):
        d[i] = q16(x[i])


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def _store(ring, a0, src, n, mu):
    """ring[(a0 + i) % RING] = src[i] in 16 bits, 0 where a0 + i < mu (as at most two
    contiguous copies)."""
    s = a0 % RING
    lo = min(max(mu - a0, 0), n)  # samples [0, lo) are muted
    # ring positions s .. s + n - 1 (mod RING) in up to two runs, each split at lo into a
    # zeroed part and a copied part: plain loops (a per-sample test ran in 64-bit lanes)
    m = min(n, RING - s)
    _run(ring[s : s + m], src[:m], min(lo, m))
    _run(ring[: n - m], src[m:n], min(max(lo - m, 0), n - m))


@njit(nogil=True, cache=True, _nrt=False)
def _zero(ring, a, b):
    for q in range(a, b):
        ring[q % RING] = 0


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def chan_in(c, x, kf, kl, held, S):
    """Store channel ``c``'s chunk ``x`` (1-D) and apply this chunk's key evidence (offsets
    ``kf``/``kl``, -1 if none; ``held``: the detector holds a digit after this chunk) to the
    samples still waiting and to come."""
    ring, nsamp, mute_from, mute_until, prev_from, prev_until, episodes, muted, enabled = S
    r = ring[c]
    n = x.shape[0]
    base = nsamp[c]
    _store(r, base, x, n, mute_until[c])
    if kl >= 0 and enabled[c]:
        s = max(base + kf - PRE, base - LOOKAHEAD)
        e = base + kl + POST
        mu = mute_until[c]
        if s >= mu:  # a new episode (else the current interval grows)
            episodes[c] += 1
            prev_from[c] = mute_from[c]
            prev_until[c] = mu
            mute_from[c] = s
            _zero(r, s, min(e, base + n))
        else:
            _zero(r, mu, min(e, base + n))
        if e > mu:
            mute_until[c] = e
    if held and enabled[c]:
        e = base + n + HELD_POST
        mu = mute_until[c]
        if mu < base + n:
            if mu < base - LOOKAHEAD:
                episodes[c] += 1
                prev_from[c] = mute_from[c]
                prev_until[c] = mu
                mute_from[c] = base - LOOKAHEAD
                mu = base - LOOKAHEAD
            _zero(r, mu, base + n)
        if e > mute_until[c]:
            mute_until[c] = e
    nsamp[c] = base + n


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def delayed(c, out, S):
    """The delayed, suppressed audio of channel ``c``'s last chunk (``out.shape[0]`` samples,
    after ``chan_in``) as float32; returns 1 if any of it was muted."""
    ring, nsamp, mute_from, mute_until, prev_from, prev_until, episodes, muted, enabled = S
    r = ring[c]
    n = out.shape[0]
    a0 = nsamp[c] - n - LOOKAHEAD
    a1 = a0 + n
    if a0 < 0:
        for i in range(n):
            a = a0 + i
            out[i] = np.float32(r[a % RING]) if a >= 0 else np.float32(0.0)
    else:
        s = a0 % RING
        m = min(n, RING - s)
        src = r[s : s + m]
        for i in range(m):
            out[i] = src[i]
        src = r[: n - m]
        dst = out[m:]
        for i in range(n - m):
            dst[i] = src[i]
    hit = (mute_from[c] < a1 and a0 < mute_until[c]) or (prev_from[c] < a1
                                                        and a0 < prev_until[c])
    muted[c] = 1 if hit else 0
    return muted[c]


@njit(nogil=True, cache=True, _nrt=False)
def _process(x, kfirst, klast, held, out, S):
    nch = x.shape[0]
    for c in range(nch):
        chan_in(c, x[c], kfirst[c], klast[c], held[c] >= 0, S)
        delayed(c, out[c], S)
    return nch
