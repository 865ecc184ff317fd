"""DTMF detection (ITU-T Q.23/Q.24) and generation over all channels.

What it does
------------
Detects the 16 DTMF digits (Q.23 frequencies 697/770/852/941 Hz × 1209/1336/1477/1633 Hz)
in every channel's linear audio and reports digit *start* and *end* events, meeting the Q.24
acceptance figures: accept ±1.5 % frequency deviation and reject ±3.5 %, accept 8 dB normal
and 4 dB reverse twist, detect down to -36 dBm0 per tone, always detect tones of 40 ms or more
and never tones of 20 ms or less, separate digits across a 40 ms pause, bridge dropouts of
10 ms or less. It also raises a fast, looser *evidence* flag (a tone may be starting) that the
key suppressor uses to mute a member before the tone's leading edge reaches the others.
``generate``/``tones`` make DTMF signals at a given level (dBm0) and duration.

How it works
------------
Audio is cut into half-blocks of ``HB`` = 51 samples (6.375 ms), whatever the chunk length
(8 or 160 samples from DAHDI); the position inside the half-block is kept per channel, the
samples (16-bit: the audio is G.711's), energies and bins of the last 3 half-blocks in rings
indexed by the half-block's sequence number modulo 3 (nothing moves when one completes).
``chan`` does one channel's chunk (the media engine calls it inside its fused tick); ``rx``
loops it over the channels. For each half-block the complex DFT at 20 frequencies is computed
by correlation with tables made at import: the 8 DTMF tones plus 10 *guard* frequencies
half-way (geometrically) between adjacent tones and just outside each group, and 2 in the
*gap* between the groups (``GAP_HZ``, computed with the guards). A completed
half-block's energy is summed from its ring slot, in the same pass as its 4 column-tone bins
if the half-block before it was loud (``EAGER_MIN``; a guess that only decides *when* those
bins are computed). Bins are computed only as far as a test needs them, which changes no
outcome: silence and quiet speech cost no DFT at all; the row-tone bins only for windows whose
strongest column tone holds the share of energy the evidence tests imply (``EV_COL_SHARE``:
6.8 %; of the loud windows of the espeak corpus 4-13 % pass it for speech, about 45 % for
music); the guard bins only for windows whose tone bins pass every other test (guards only
reject near-misses). Speech and noise mostly cost 4 bins instead of 20.

Speed comes from the memory layout as much as from the arithmetic. Ring slots are ``HBS`` = 64
samples apart with zero padding (the tables are zero-padded too), so the 8-row correlation and
the energy run whole AVX blocks with no scalar tail; the 8 tone bins of the 3 slots sit
together (``hre``/``him``, 96 B each) and the rarely used guard bins apart (``gre``/``gim``),
so a channel's detector touches few cache lines: at 960 channels a tick's state does not fit
in L2, and cache lines are what the fused tick pays for.

Half-block DFTs are phase-rotated and summed into sliding windows every 51 samples:

* evidence window, 102 samples (12.75 ms): each group's peak is above -45 dBm0, is the
  strongest of its group by 6 dB and beats its two guard frequencies, twist within ±10 dB, and
  the two tones carry ≥ 75 % of the window's energy. A detection window only counts if the
  evidence window ending with it passes too, or if the mute evidence (below) is confirmed
  on it: a key under a loud syllable keeps the share of a 102-sample window between 55 and
  75 % for most of its length (most of the presses the detector missed under speech at
  -16 dBm0).
* mute evidence, the same window with a looser share (``MUTE_RATIO``, 62 %, with the twist
  within ±4 dB; or 80 % with the detector's twist) and the row tone only 3 dB over the other
  rows (``MUTE_REL_ROW``): a key under loud speech keeps passing it. It drives key
  suppression once 2 of 3 consecutive windows (``evd``: the last two windows' digits) pass on
  the same digit, which speech seldom does. Why these two: of the presses over speech at
  -16 dBm0 that leaked, most had a vowel's first formant in the row band, another row bin 3-6
  dB under the key's for the first 30-70 ms (the 6 dB test failed until the look-ahead was
  spent); and the false mutes on speech were pairs of harmonics of one pitch (5th and 7th,
  7th and 9th...) landing on a row and a column tone 5-7 dB apart, which a key's twist
  seldom is.
* detection window, 153 samples (19.1 ms, 52 Hz bins): each group's peak is above -42 dBm0,
  is the strongest of its group by 6 dB, beats *both* of its guard frequencies (this sets the
  accept/reject boundary at about ±2.5 %, between Q.24's ±1.5 % and ±3.5 %), twist within
  +10/-6 dB and the two tones carry ≥ 55 % of the energy; and, with the twist within ±4 dB,
  the gap between the groups (1050 and 1090 Hz) 7 dB under the weaker tone (``GAP_REL``). A
  voice whose pitch makes a row and a column tone two of its harmonics (172 Hz: 860 and 1204
  Hz, the 5th and 7th, a '7') has one between them too, at -2 to -10 dB: that was the
  talk-off left on the wide corpus, and what the looser evidence above let through more
  often. A key's own leakage there stays under -9 dB of its weaker tone within ±4 dB of
  twist and ±1.5 % of frequency; with more twist the test is skipped (Q.24's 8 dB).

A digit starts after 3 consecutive detection windows (38 ms of audio) agree on the digit with
the two tones' power steady within 1.5 dB (each within 3 dB): a 40 ms tone always has 3 windows
entirely inside it, a 20 ms tone can never produce 3 equal windows (the outer ones are at most
78 % covered).
A digit ends after 2 consecutive windows in which its tones are no longer present (above
-50 dBm0, within 20 dB of the digit's peak, 30 % of the energy): windows overlapping a ≤ 10 ms
dropout are still ≥ 48 % covered, a 40 ms pause holds ≥ 3 empty windows. Presence takes each
tone's power over the whole window or, if larger, summed over its 3 half-blocks one by one: a
phase jump inside a press (a 180° reversal, a break after which the tones come back with any
phase) cancels the window's coherent sum but leaves at least one half-block whole.

How to use it
-------------
``st = init(nchan)``; per chunk ``n = rx(st, x, events)`` where ``x`` is float32
``(nchan, k)`` linear audio and ``events`` an ``Events`` buffer: it returns the number of events
written (channel, kind ``START``/``END``, digit index into ``DIGITS``, absolute sample time of
the channel). ``st.kfirst``/``st.klast`` hold, per channel, the chunk offsets (1..k) at which
confirming mute-evidence windows ended in this chunk, -1 if none; ``st.digit`` the digit held
(-1 none). ``reset(st, chans)``; ``status(st, c)``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .g711 import q16

FS = 8000  # Hz
HB = 51  # samples per half-block
HBS = 64  # ring slot stride: the loops run whole 32-sample AVX blocks; the padding stays 0
DIGITS = "123A456B789C*0#D"
ROW_HZ = (697.0, 770.0, 852.0, 941.0)
COL_HZ = (1209.0, 1336.0, 1477.0, 1633.0)
START = 1
END = 2

#: peak amplitude of a 0 dBm0 sine in 16-bit linear (G.711 A-law: full scale = +3.14 dBm0)
DBM0_PEAK = 32768.0 * 10.0 ** (-3.14 / 20.0)
_DBM0_MS = DBM0_PEAK * DBM0_PEAK / 2.0  # mean square of a 0 dBm0 sine


def _db2ms(dbm0: float) -> float:
    return _DBM0_MS * 10.0 ** (dbm0 / 10.0)


EV_MIN = _db2ms(-45.0)  # evidence: per-tone floor
EV_RATIO = 0.75  # evidence: two tones' share of window energy
MUTE_RATIO = 0.62  # mute evidence: the two tones' share, looser than EV_RATIO ...
MUTE_TWIST = 10.0 ** (4.0 / 10.0)  # ... with the twist within ±4 dB
MUTE_STRONG = 0.8  # or this share with the detector's twist limits (+10/-6 dB)
EV_REL_PEAK = 4.0  # evidence: 6 dB over the rest of its group
MUTE_REL_ROW = 2.0  # mute evidence: the row tone 3 dB over the other rows (speech's first
#                     formant sits in the row band: a key over a vowel often has another row
#                     bin within 6 dB)
EV_TWIST = 10.0 ** (10.0 / 10.0)  # evidence: max twist either way (power ratio)
DET_MIN = _db2ms(-42.0)  # detection: per-tone floor
DET_RATIO = 0.55
DET_NORMAL_TWIST = 10.0 ** (10.0 / 10.0)  # row stronger than column
DET_REVERSE_TWIST = 10.0 ** (6.0 / 10.0)  # column stronger than row
DET_REL_PEAK = 4.0  # 6 dB over the rest of its group
DET_STEADY = 10.0 ** (1.5 / 10.0)  # max/min of the two tones' power over the 3 start windows
DET_STEADY_EACH = 10.0 ** (3.0 / 10.0)  # the same for each tone (leakage of a twisted pair)
END_MIN = _db2ms(-50.0)
END_REL = 0.01  # -20 dB of the digit's peak
END_RATIO = 0.3
START_WINDOWS = 3
END_MISSES = 2


def _guards(f: tuple) -> list:
    g = [f[0] / 1.05]
    g += [float(np.sqrt(f[i] * f[i + 1])) for i in range(3)]
    return g + [f[3] * 1.05]


#: the evidence window (2 half-blocks) is analysed only if its energy reaches 80 % of two tones at
#: EV_MIN (quieter windows cannot pass); a half-block following one that held half of that has
#: its column bins computed with its energy, others only if a window needs them
EV_GATE = 0.8 * 2.0 * HB * 2.0 * EV_MIN
EAGER_MIN = 0.5 * EV_GATE

#: the gap between the groups (above the top row guard, below the bottom column guard): a
#: voice whose pitch makes a row and a column tone two of its harmonics has one there too
GAP_HZ = (1050.0, 1090.0)
GAP_REL = 10.0 ** (-7.0 / 10.0)  # detection: the gap 7 dB under the weaker tone ...
GAP_TWIST = 10.0 ** (4.0 / 10.0)  # ... if the twist is within ±4 dB
FREQS = np.array(list(ROW_HZ) + list(COL_HZ) + _guards(ROW_HZ) + _guards(COL_HZ)
                 + list(GAP_HZ))
NB = FREQS.size  # 20: 0-3 rows, 4-7 columns, 8-12 row guards, 13-17 column guards, 18-19 gap
_OMEGA = 2.0 * np.pi * FREQS / FS
COS_T = np.cos(np.outer(_OMEGA, np.arange(HB))).astype(np.float32)
SIN_T = (-np.sin(np.outer(_OMEGA, np.arange(HB)))).astype(np.float32)
NT = 8  # tone bins, analysed for every half-block that a window needs
NG = NB - NT  # guard bins, analysed only for windows whose tone bins already pass
#: the tone bins by group, (8, HB) each: 4 cos rows then 4 -sin rows (rows = 697-941 Hz)
ROW_T = np.ascontiguousarray(np.concatenate([COS_T[:4], SIN_T[:4]]))
COL_T = np.ascontiguousarray(np.concatenate([COS_T[4:NT], SIN_T[4:NT]]))
#: an evidence window can pass only if its strongest column tone holds this share of the
#: window's energy (two tones >= 75 %, the row at most 10 dB above the column; 0.1 % margin
#: for rounding), so the row bins wait until the column bins pass it
EV_COL_SHARE = 0.999 * MUTE_RATIO / (1.0 + EV_TWIST)
#: (2 * NG, HB): the guard bins' cos rows then -sin rows
GUARD_T = np.ascontiguousarray(np.concatenate([COS_T[NT:], SIN_T[NT:]]))


def _padded(t: np.ndarray) -> np.ndarray:
    out = np.zeros((t.shape[0], HBS), np.float32)
    out[:, :HB] = t
    return out


#: ROW_T and COL_T zero-padded to the ring's slot stride
ROW_P = _padded(ROW_T)
COL_P = _padded(COL_T)
ROT_RE = np.cos(-np.outer(np.arange(3), _OMEGA) * HB)  # (3, NB): e^{-jωHBk}
ROT_IM = np.sin(-np.outer(np.arange(3), _OMEGA) * HB)


class Events:
    """Caller-owned event buffer filled by ``rx`` (capacity ``cap``)."""

    def __init__(self, cap: int = 1024):
        self.chan = np.zeros(cap, np.int32)
        self.kind = np.zeros(cap, np.int8)
        self.digit = np.zeros(cap, np.int8)
        self.time = np.zeros(cap, np.int64)

    def arrays(self) -> tuple:
        return (self.chan, self.kind, self.digit, self.time)


class DtmfState:
    """Per-channel detector state, arrays over all channels. Half-blocks live in rings indexed
    by their sequence number modulo 3 (nothing is shifted when one completes); rows are flat so
    the kernel makes one view per channel and indexes it with small constant offsets."""

    def __init__(self, nchan: int):
        self.nchan = nchan
        self.hpos = np.zeros(nchan, np.int32)
        self.hre = np.zeros((nchan, 3 * NT), np.float32)  # tone bins [slot * NT + bin]
        self.him = np.zeros((nchan, 3 * NT), np.float32)
        self.gre = np.zeros((nchan, 3 * NG), np.float32)  # guard bins [slot * NG + bin - NT]
        self.gim = np.zeros((nchan, 3 * NG), np.float32)
        self.hen = np.zeros((nchan, 3), np.float32)  # energy per slot
        self.hraw = np.zeros((nchan, 3 * HBS), np.int16)  # the last 3 half-blocks' samples
        self.gok = np.zeros((nchan, 3), np.uint8)  # their guard bins computed
        self.tok = np.zeros((nchan, 3), np.uint8)  # their row-tone bins computed
        self.cok = np.zeros((nchan, 3), np.uint8)  # their column-tone bins computed
        self.nhb = np.zeros(nchan, np.int64)
        self.nsamp = np.zeros(nchan, np.int64)
        self.hist = np.full((nchan, 3), -1, np.int8)  # digit hit of the last 3 windows
        self.hpr = np.zeros((nchan, 3), np.float32)  # row power of those windows
        self.hpc = np.zeros((nchan, 3), np.float32)
        self.digit = np.full(nchan, -1, np.int8)  # digit being held, -1 none
        self.dpr = np.zeros(nchan, np.float32)  # its peak row/col power
        self.dpc = np.zeros(nchan, np.float32)
        self.miss = np.zeros(nchan, np.int32)
        self.lastpres = np.zeros(nchan, np.int64)
        self.kfirst = np.full(nchan, -1, np.int32)
        self.klast = np.full(nchan, -1, np.int32)
        self.scratch = np.zeros(NB, np.float32)
        self.evd = np.full((nchan, 2), -1, np.int8)  # digits of the last 2 mute-evidence windows

    def arrays(self) -> tuple:
        return (self.hpos, self.hre, self.him, self.gre, self.gim, self.hen, self.hraw, self.gok,
                self.tok, self.cok, self.nhb, self.nsamp,
                self.hist, self.hpr, self.hpc, self.digit, self.dpr, self.dpc, self.miss,
                self.lastpres, self.kfirst, self.klast, self.scratch, self.evd)


def init(nchan: int) -> DtmfState:
    return DtmfState(nchan)


def reset(st: DtmfState, chans=None) -> None:
    """Forget all running state of ``chans`` (all channels if None)."""
    sel = slice(None) if chans is None else np.asarray(chans)
    for a in (st.hpos, st.hre, st.him, st.gre, st.gim, st.hen, st.hraw, st.gok, st.tok, st.cok,
              st.nhb, st.hpr, st.hpc, st.dpr, st.dpc, st.miss):
        a[sel] = 0
    st.hist[sel] = -1
    st.digit[sel] = -1
    st.evd[sel] = -1


def status(st: DtmfState, c: int) -> dict:
    d = int(st.digit[c])
    return {"digit": DIGITS[d] if d >= 0 else None, "samples": int(st.nsamp[c])}


def rx(st: DtmfState, x: np.ndarray, ev: Events) -> int:
    """Feed one chunk (float32, (nchan, k)) for all channels; returns the number of events."""
    return _rx(x, st.arrays(), ev.arrays())


ROT_RE_F = np.ascontiguousarray(ROT_RE.ravel())  # [k * NB + b]
ROT_IM_F = np.ascontiguousarray(ROT_IM.ravel())
ROT_RE_32 = ROT_RE_F.astype(np.float32)
ROT_IM_32 = ROT_IM_F.astype(np.float32)


@njit(nogil=True, cache=True, _nrt=False, fastmath=True, inline="always")
def _dft(raw, o, tab, nb, re, im, ro):
    """DFT at ``nb`` frequencies (table ``tab``: nb cos rows then nb -sin rows) of the
    half-block ``raw[o:o + HB]`` into ``re``/``im[ro + b]`` (the guard bins, rarely needed)."""
    x = raw[o : o + HB]  # contiguous 1-D views: the products vectorise
    for b in range(nb):
        cs = tab[b]
        sn = tab[nb + b]
        ar = np.float32(0.0)
        ai = np.float32(0.0)
        for m in range(HB):
            v = np.float32(x[m])
            ar += v * cs[m]
            ai += v * sn[m]
        re[ro + b] = ar
        im[ro + b] = ai


@njit(nogil=True, cache=True, _nrt=False, fastmath=True, inline="always")
def _dft8(raw, o, tab, re, im, ro):
    """4 complex bins (table ``tab``: 4 cos rows then 4 -sin rows, zero-padded to ``HBS``) of
    the half-block at ``raw[o:]`` into ``re``/``im[ro:ro + 4]``, and its energy (returned):
    all 8 rows and the energy in one pass over the samples, an AVX accumulator each, no tail
    loop (a row at a time left 3 samples to scalar code and 2 horizontal sums per row)."""
    x = raw[o : o + HBS]
    t0 = tab[0]
    t1 = tab[1]
    t2 = tab[2]
    t3 = tab[3]
    t4 = tab[4]
    t5 = tab[5]
    t6 = tab[6]
    t7 = tab[7]
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = e = np.float32(0.0)
    for m in range(x.shape[0]):
        v = np.float32(x[m])
        e += v * v
        a0 += v * t0[m]
        a1 += v * t1[m]
        a2 += v * t2[m]
        a3 += v * t3[m]
        a4 += v * t4[m]
        a5 += v * t5[m]
        a6 += v * t6[m]
        a7 += v * t7[m]
    re[ro] = a0
    re[ro + 1] = a1
    re[ro + 2] = a2
    re[ro + 3] = a3
    im[ro] = a4
    im[ro + 1] = a5
    im[ro + 2] = a6
    im[ro + 3] = a7
    return e


@njit(nogil=True, cache=True, _nrt=False, fastmath=True, inline="always")
def _need(raw, re, im, ok, s0, nwin, tab, nb, b0):
    """The bins of table ``tab`` for the nwin half-blocks from ring slot s0 on, those whose
    ``ok`` flag is not set yet: a tone group (nb = 4, into ``re``/``im[slot * NT + b0 + b]``)
    or the guard bins (nb = NG, into ``re``/``im[slot * NG + b]``). nb is a constant at every
    call, so each inlined copy keeps one kernel."""
    for k in range(nwin):
        s = s0 + k
        if s >= 3:
            s -= 3
        if not ok[s]:
            ok[s] = 1
            if nb == 4:
                _dft8(raw, s * HBS, tab, re, im, s * NT + b0)
            else:
                _dft(raw, s * HBS, tab, nb, re, im, s * nb)


@njit(nogil=True, cache=True, _nrt=False, fastmath=True, inline="always")
def _powers(re, im, hen, s0, nwin, P, b0, b1, stride, first):
    """Powers (mean square) of bins b0..b1-1 over the window of the nwin half-blocks from ring
    slot s0 on (each rotated to the window's time origin); returns the window's mean square."""
    w = nwin * HB
    norm = np.float32(2.0 / (w * w))
    for b in range(b0, b1):
        o = s0 * stride + b - first
        xr = re[o]
        xi = im[o]
        for k in range(1, nwin):
            sk = s0 + k
            if sk >= 3:
                sk -= 3
            o = sk * stride + b - first
            ar = re[o]
            ai = im[o]
            cr = ROT_RE_32[k * NB + b]
            ci = ROT_IM_32[k * NB + b]
            xr += ar * cr - ai * ci
            xi += ar * ci + ai * cr
        P[b] = (xr * xr + xi * xi) * norm
    e = np.float32(0.0)
    for k in range(nwin):
        sk = s0 + k
        if sk >= 3:
            sk -= 3
        e += hen[sk]
    return e / np.float32(w)


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def _peaks(P):
    r = 0
    for i in range(1, 4):
        if P[i] > P[r]:
            r = i
    k = 4
    for i in range(5, 8):
        if P[i] > P[k]:
            k = i
    return r, k - 4


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def _column_may_pass(P, e):
    """The necessary condition on the column bins alone (``EV_COL_SHARE``)."""
    pc = max(max(P[4], P[5]), max(P[6], P[7]))
    return pc >= EV_MIN and pc >= EV_COL_SHARE * e


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def _evidence_tones(P, e):
    """The mute-evidence tests on the tone bins only (the guard test comes after, if these
    pass; the detector's evidence adds ``_rows_clear`` and ``EV_RATIO``)."""
    r, k = _peaks(P)
    pr = P[r]
    pc = P[4 + k]
    if pr < EV_MIN or pc < EV_MIN:
        return False
    if pr > pc * EV_TWIST or pc > pr * EV_TWIST:
        return False
    for i in range(4):
        if i != r and P[i] * MUTE_REL_ROW > pr:
            return False
        if i != k and P[4 + i] * EV_REL_PEAK > pc:
            return False
    return pr + pc >= MUTE_RATIO * e


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def _rows_clear(P, r):
    """The row tone ``r`` is ``EV_REL_PEAK`` (6 dB) over the other rows."""
    for i in range(4):
        if i != r and P[i] * EV_REL_PEAK > P[r]:
            return False
    return True


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def _beats_guards(P):
    r, k = _peaks(P)
    return not (P[r] <= P[8 + r] or P[r] <= P[9 + r] or P[4 + k] <= P[13 + k]
                or P[4 + k] <= P[14 + k])


@njit(nogil=True, cache=True, _nrt=False)
def _hit(P, e):
    """Strict detection test of one window: digit index or -1."""
    r, k = _peaks(P)
    pr = P[r]
    pc = P[4 + k]
    if pr < DET_MIN or pc < DET_MIN:
        return -1
    if pr > pc * DET_NORMAL_TWIST or pc > pr * DET_REVERSE_TWIST:
        return -1
    for i in range(4):
        if i != r and P[i] * DET_REL_PEAK > pr:
            return -1
        if i != k and P[4 + i] * DET_REL_PEAK > pc:
            return -1
    if pr <= P[8 + r] or pr <= P[9 + r] or pc <= P[13 + k] or pc <= P[14 + k]:
        return -1
    if pr + pc < DET_RATIO * e:
        return -1
    if (max(P[18], P[19]) > GAP_REL * min(pr, pc) and pr <= pc * GAP_TWIST
            and pc <= pr * GAP_TWIST):
        return -1
    return r * 4 + k


@njit(nogil=True, cache=True, _nrt=False)
def _detect(c, t_end, evid, P, e, hist, hpr, hpc, digit, dpr, dpc, miss, lastpres,
            ev_chan, ev_kind, ev_digit, ev_time, nev, re, im, s3):
    d = _hit(P, e) if evid else -1
    hist[c, 0] = hist[c, 1]
    hist[c, 1] = hist[c, 2]
    hist[c, 2] = d
    r0, k0 = _peaks(P)
    hpr[c, 0] = hpr[c, 1]
    hpr[c, 1] = hpr[c, 2]
    hpr[c, 2] = P[r0]
    hpc[c, 0] = hpc[c, 1]
    hpc[c, 1] = hpc[c, 2]
    hpc[c, 2] = P[4 + k0]
    cap = ev_chan.shape[0]
    cur = digit[c]
    if cur >= 0:
        r = cur // 4
        k = cur % 4
        # the tones' power summed over the window's 3 half-blocks one by one (incoherently)
        # as well as over the whole window: a phase jump (a 180° reversal, a break after
        # which the tones come back with any phase) cancels the whole window's DFT but
        # leaves at least 2 of its 3 half-blocks (a break of up to 10 ms: 1) whole
        pri = np.float32(0.0)
        pci = np.float32(0.0)
        for j in range(3):
            sj = s3 + j
            if sj >= 3:
                sj -= 3
            o = sj * NT
            pri += re[o + r] * re[o + r] + im[o + r] * im[o + r]
            pci += re[o + 4 + k] * re[o + 4 + k] + im[o + 4 + k] * im[o + 4 + k]
        pr = max(P[r], pri * np.float32(2.0 / (3.0 * HB * HB)))
        pc = max(P[4 + k], pci * np.float32(2.0 / (3.0 * HB * HB)))
        present = (pr >= END_MIN and pc >= END_MIN and pr >= END_REL * dpr[c]
                   and pc >= END_REL * dpc[c] and pr + pc >= END_RATIO * e)
        if present:
            miss[c] = 0
            lastpres[c] = t_end
            dpr[c] = max(dpr[c], P[r])
            dpc[c] = max(dpc[c], P[4 + k])
        else:
            miss[c] += 1
            if miss[c] >= END_MISSES:
                if nev < cap:
                    ev_chan[nev] = c
                    ev_kind[nev] = END
                    ev_digit[nev] = cur
                    ev_time[nev] = lastpres[c]
                    nev += 1
                digit[c] = -1
                for j in range(3):
                    hist[c, j] = -1
        return nev
    if d < 0 or hist[c, 0] != d or hist[c, 1] != d:
        return nev
    lo_r = min(hpr[c, 0], min(hpr[c, 1], hpr[c, 2]))
    hi_r = max(hpr[c, 0], max(hpr[c, 1], hpr[c, 2]))
    lo_c = min(hpc[c, 0], min(hpc[c, 1], hpc[c, 2]))
    hi_c = max(hpc[c, 0], max(hpc[c, 1], hpc[c, 2]))
    lo_s = hi_s = hpr[c, 0] + hpc[c, 0]
    for j in range(1, 3):
        v = hpr[c, j] + hpc[c, j]
        lo_s = min(lo_s, v)
        hi_s = max(hi_s, v)
    if hi_s > DET_STEADY * lo_s or hi_r > DET_STEADY_EACH * lo_r or hi_c > DET_STEADY_EACH * lo_c:
        return nev
    digit[c] = d
    dpr[c] = hi_r
    dpc[c] = hi_c
    miss[c] = 0
    lastpres[c] = t_end
    if nev < cap:
        ev_chan[nev] = c
        ev_kind[nev] = START
        ev_digit[nev] = d
        ev_time[nev] = t_end - 5 * HB  # start of the first of the 3 windows
        nev += 1
    return nev


@njit(nogil=True, cache=True, _nrt=False, fastmath=True, inline="always")
def chan(c, xr, S, E, nev):
    """One channel's chunk ``xr`` (1-D): half-blocks, windows, events (appended to the buffers
    ``E`` from index ``nev``); returns the new ``nev``. ``S`` is ``DtmfState.arrays()``."""
    (hpos, hre, him, gre, gim, hen, hraw, gok, tok, cok, nhb, nsamp, hist, hpr, hpc, digit, dpr,
     dpc, miss, lastpres, kfirst, klast, P, evd) = S
    ev_chan, ev_kind, ev_digit, ev_time = E
    n = xr.shape[0]
    raw = hraw[c]
    re = hre[c]
    im = him[c]
    gr = gre[c]
    gi = gim[c]
    en = hen[c]
    tk = tok[c]
    ck = cok[c]
    gk = gok[c]
    kfirst[c] = -1
    klast[c] = -1
    p = hpos[c]
    q = nhb[c]  # sequence number of the half-block being filled
    s = q % 3  # its ring slot (kept incrementally below: no division per half-block)
    i = 0
    while i < n:
        take = min(HB - p, n - i)
        src = xr[i : i + take]  # views indexed from 0: no wraparound test, the copy vectorises
        dst = raw[s * HBS + p : s * HBS + p + take]
        for k in range(take):  # (16 bits: half the cache lines; the audio is G.711's)
            dst[k] = q16(src[k])
        i += take
        p += take
        if p < HB:
            break
        # a half-block completed: its energy, with its column bins from the same loads if the
        # half-block before was loud (a guess: it decides when bins are computed, never an
        # outcome); other bins when a window needs them, guard bins only for windows that
        # pass the tone tests
        if en[s - 1 if s >= 1 else 2] >= EAGER_MIN:
            acc = _dft8(raw, s * HBS, COL_P, re, im, s * NT + 4)
            ck[s] = 1
        else:
            x = raw[s * HBS : s * HBS + HBS]  # (the padding is 0)
            acc = np.float32(0.0)
            for k in range(x.shape[0]):  # (not range(HBS): LLVM unrolls that, unvectorised)
                v = np.float32(x[k])
                acc += v * v
            ck[s] = 0
        en[s] = acc
        gk[s] = 0
        tk[s] = 0
        p = 0
        q += 1
        s2 = s - 1 if s >= 1 else 2  # slot of the first half-block of a 2-half-block window
        s3 = s - 2 if s >= 2 else s + 1  # ... of a 3-half-block window
        prev = s2
        s = s + 1 if s < 2 else 0
        evid = False
        cand = -1
        # (two tones above EV_MIN need at least that much energy: skip quiet windows)
        if q >= 2 and en[prev] + en[s2 + 1 if s2 < 2 else 0] >= EV_GATE:
            _need(raw, re, im, ck, s2, 2, COL_P, 4, 4)
            e = _powers(re, im, en, s2, 2, P, 4, NT, NT, 0)
            if _column_may_pass(P, e):
                _need(raw, re, im, tk, s2, 2, ROW_P, 4, 0)
                _powers(re, im, en, s2, 2, P, 0, 4, NT, 0)
            if _column_may_pass(P, e) and _evidence_tones(P, e):
                _need(raw, gr, gi, gk, s2, 2, GUARD_T, NG, 0)
                _powers(gr, gi, en, s2, 2, P, NT, NB, NG, NT)
                if _beats_guards(P):
                    r0, k0 = _peaks(P)
                    pr = P[r0]
                    pc = P[4 + k0]
                    # the detector's own gate
                    evid = pr + pc >= EV_RATIO * e and _rows_clear(P, r0)
                    if ((pr + pc >= MUTE_STRONG * e and pc <= pr * DET_REVERSE_TWIST)
                            or (pr <= pc * MUTE_TWIST and pc <= pr * MUTE_TWIST)):
                        cand = r0 * 4 + k0
                        if evd[c, 0] == cand or evd[c, 1] == cand:
                            evid = True  # confirmed mute evidence: the detector's too
                            if kfirst[c] < 0:
                                kfirst[c] = i
                            klast[c] = i
        if q >= 2:
            evd[c, 1] = evd[c, 0]
            evd[c, 0] = cand
        if q >= 3:
            if evid or digit[c] >= 0:
                _need(raw, re, im, ck, s3, 3, COL_P, 4, 4)
                _need(raw, re, im, tk, s3, 3, ROW_P, 4, 0)
                e = _powers(re, im, en, s3, 3, P, 0, NT, NT, 0)
                if evid:  # the strict test needs the guard bins (else only the tones)
                    _need(raw, gr, gi, gk, s3, 3, GUARD_T, NG, 0)
                    _powers(gr, gi, en, s3, 3, P, NT, NB, NG, NT)
                nev = _detect(c, nsamp[c] + i, evid, P, e, hist, hpr, hpc, digit, dpr, dpc,
                              miss, lastpres, ev_chan, ev_kind, ev_digit, ev_time, nev, re,
                              im, s3)
            else:  # no evidence, no digit: a miss, the window need not be analysed
                hist[c, 0] = hist[c, 1]
                hist[c, 1] = hist[c, 2]
                hist[c, 2] = -1
    hpos[c] = p
    nhb[c] = q
    nsamp[c] += n
    return nev


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _rx(x, S, E):
    nev = 0
    for c in range(x.shape[0]):
        nev = chan(c, x[c], S, E, nev)
    return nev


# ---------------------------------------------------------------- generator (numpy, not hot)

def dbm0_amplitude(dbm0: float) -> float:
    """Peak 16-bit amplitude of a sine at ``dbm0``."""
    return DBM0_PEAK * 10.0 ** (dbm0 / 20.0)


def tones(f_low: float, f_high: float, n: int, level_low: float = -10.0,
          level_high: float | None = None, phase: tuple = (0.0, 0.0)) -> np.ndarray:
    """``n`` samples of two sines (Hz) at per-tone levels (dBm0), float64."""
    level_high = level_low if level_high is None else level_high
    t = np.arange(n) / FS
    return (dbm0_amplitude(level_low) * np.sin(2 * np.pi * f_low * t + phase[0])
            + dbm0_amplitude(level_high) * np.sin(2 * np.pi * f_high * t + phase[1]))


def generate(digits: str, level_dbm0: float = -10.0, on_ms: float = 60.0,
             off_ms: float = 60.0, twist_db: float = 0.0, lead_ms: float = 0.0) -> np.ndarray:
    """DTMF digits as float64 linear audio: each ``on_ms`` of tone then ``off_ms`` of silence.

    ``level_dbm0`` is the level of each tone (the column tone is ``twist_db`` lower).
    """
    on = round(on_ms * FS / 1000)
    off = round(off_ms * FS / 1000)
    parts = [np.zeros(round(lead_ms * FS / 1000))]
    for ch in digits:
        i = DIGITS.index(ch.upper())
        parts.append(tones(ROW_HZ[i // 4], COL_HZ[i % 4], on, level_dbm0,
                           level_dbm0 - twist_db))
        parts.append(np.zeros(off))
    return np.concatenate(parts)
