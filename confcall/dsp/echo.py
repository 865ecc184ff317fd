"""Line echo canceller (ITU-T G.168 style) for the hybrid echo of each trunk channel.

What it does
------------
Removes the echo of what we send (``ref``, the far-end signal from the canceller's point of view)
from what comes back on the same channel (``rx``), for echo paths up to ``TAPS`` = 1024 samples
(128 ms tail) and an echo return loss of 6 dB or more. It detects double talk so the filter does
not diverge while the line's subscriber talks, and a non-linear processor (NLP) replaces the
small residual echo by comfort noise at the line's own background level.

How it works
------------
* Adaptive FIR filter, improved proportionate NLMS (IPNLMS, Benesty & Gay 2002): each tap's step
  is proportional to a mix of its magnitude and a uniform share, so the few active taps of a
  hybrid echo path (a dispersive part a few ms long after a bulk delay) converge much faster than
  with plain NLMS over 1024 taps. Gains are refreshed every ``SB`` = 40 samples (5 ms). The
  three 1024-long loops per sample (output, normalisation, update) are small vectorised kernels.
* Convergence is tracked as an ERLE estimate (rising fast and falling over about a second) of
  the filter held still over each sub-block: rx/error power on every 4th sample, in dB, from
  the double-talk test (b) below when it ran, else from the filter at the sub-block's end
  looking back over it. A real echo path is predicted by fixed taps; taps that only follow a
  near-end tone sample by sample (no echo on the line, or double talk the detector missed:
  NLMS with tonal signals cancels a near-end tone by a heterodyne effect) predict nothing once
  held still. Above ``REAL`` (10 dB) the echo path counts as real; until then the canceller
  passes ``rx`` through unchanged (its filter keeps adapting) and the NLP stays off, so an
  echo-free line is neither cancelled into, nor leaks the far end, nor gets suppressed. Above
  ``CONVERGED`` (25 dB) the filter counts as converged.
* Double-talk detector, per 5 ms sub-block, evaluated on the *coming* sub-block before adapting
  on it (the whole tick is at hand): (a) power form of the Geigel test: the rx power exceeds
  half (``GEIGEL``) the largest far-end sub-block power of the last tail; (b) once converged,
  the error of the current filter (on every 4th sample of the sub-block) exceeds half
  (``DT_ERR``) the rx power while the rx is above the background and within 30 dB of the far
  end. Both are re-checked on each finished sub-block. A detection freezes adaptation for
  ``DT_HANG`` samples (30 ms).
* Backup filter (the two-filter idea of many cancellers, at the cost of a copy): near-end
  speech near the echo's level slips past both tests now and then and pulls the filter off
  (36 → 24 dB over 4 s of double talk). A good converged filter (ERLE estimate above
  ``CONVERGED``, no double talk, the sub-block's held error 20 dB under rx, no worse than
  the backup and its ERLE estimate within 1 dB of the backup's, which sinks 0.5 dB/s) is
  copied, taps and window, into a backup; the held error of the backup is measured on the
  same samples as the filter's (the double-talk test (b) or the look-back), and when the
  backup does 1.5 dB better on a sub-block with the far end active it is restored. Right after
  double talk the filter is as good as before it.
* Adaptation runs only while the far end is active (above -45 dBm0 in the last tail), and once
  converged the error driving it is clipped at ``ROBUST`` times the usual residual RMS (a
  robust, Huber-like step), so near-end syllables that slip past the detector barely move it.
* NLP, decided per sub-block on that sub-block's own error, while the far end is active and
  the echo path is real: the sub-block becomes comfort noise at the background level (minimum
  of the error's sub-block power: falls at once, rises 1 dB/s while the error stays within 12 dB
  of it and 0.1 dB/s while it is above, e.g. under continuous talk, and never above 3 dB under
  the error's 0.5 s average) if the error is ``NLP_DB`` (15 dB) below the far-end peak of the
  last tail, or, once converged, if it is 9 dB below the rx level or the rx power the echo estimate
  leaves over (rx power - estimate power: the near end's share) is under a quarter of the error
  power. A near-end talker makes up most of the error and is louder than that, so double talk
  passes; one more than 15 dB below a loud far end is clipped, the usual NLP trade-off.
* Narrowing while converging: once the echo path is clearly found (ERLE estimate above
  ``MID_IN``, 18 dB) and ``MID`` = 320 consecutive taps (40 ms) hold 99 % of the filter's
  energy, the other taps are cleared and the filter goes on converging there at the full rate:
  4 times cheaper than the whole tail, and faster (fewer taps). Under ``SPARSE_OUT`` the whole
  tail adapts again.
* Sparse window: a hybrid's echo path is a bulk delay and a few ms of response. Once well
  converged (ERLE estimate above ``SPARSE_IN``), if 128 (else ``WIN`` = 256) consecutive taps
  hold 99.95 % of the filter's energy (256 taps: 99.5 % will do above ``SPARSE_WIDE``, 31 dB:
  speech leaves misadjustment noise in the taps it hardly excites), the other taps are
  cleared and only that window is
  filtered and adapted, on every ``SPARSE_EVERY``-th (4th) sample only and with the step
  ``MU_SPARSE``: a converged filter only tracks, and the fewer updates cost less and let
  undetected near-end speech move it less; a 256-tap window is tried again for 128 taps every
  ``NFB`` sub-blocks (the first narrowing often keeps the whole tail's misadjustment noise
  above the 0.05 %); if the ERLE estimate falls under ``SPARSE_OUT`` (echo path change) the
  whole tail adapts again, on every sample.
* Echo-free lines (most callers: digital and mobile lines have no hybrid) would run the whole
  tail for ever, the filter never converging. After ``PROBE_AFTER`` far-end-active sub-blocks
  (2 s) with no real echo path (ERLE estimate under ``REAL``) a channel *probes* instead:
  ref and rx are low-passed (32-tap FIR, 850 Hz) and decimated by 4, and a 256-tap NLMS
  filter at 2 kHz (the same 128 ms tail) adapts on every other decimated sample while the far
  end is active; the other decimated samples measure the error of that filter *held* over the
  10 ms sub-block (as above: a filter following a near-end tone predicts nothing once held)
  on sub-blocks where the far end is active and the rx under half its power (a talking
  subscriber is no evidence either way). The probe's ERLE estimate (rising fast, falling over
  ~0.5 s, floored at -10 dB) above ``PROBE_ON`` (8 dB) means an echo path: the full canceller
  restarts from zero taps at the next chunk. While probing, rx passes unchanged and the NLP
  is off, as on any line without a real echo path. The probe costs about a tenth of the whole
  tail (and next to nothing while the far end is idle); it finds a hybrid switched in mid-call
  within about 2 s of far-end speech, unless the subscriber talks over it continuously.
* Cost: about 3.25 × 1024 multiply-adds per sample and channel while converging (the look-back
  adds a quarter), a third of that on the 320-tap window, 128 or 256 plus a quarter of 3 × 128
  or 256 once converged, about 100 while probing (see ``bench/dsp.py``: the realistic mix of
  70 % echo-free lines).
  A partitioned-block frequency-domain filter would be the way to a much higher channel count
  while converging; a first try (80-sample blocks, 13 partitions, proportionate steps, FFTs
  batched over the channels with scipy) met the 1 s convergence but not the 30 dB steady state
  on speech, and with its FFTs outside the kernel it was memory-bound at about the cost of this
  filter.

How to use it
-------------
``st = init(nchan)``; per chunk ``process(st, rx, ref, out)`` with float32 ``(nchan, n)`` arrays
(any ``n`` up to 512): ``rx`` the decoded line audio, ``ref`` what was sent on the line,
time-aligned with ``rx`` (the engine passes the previous tick's output), ``out`` the echo-free
audio; ``pre_nlp`` optionally receives the error before the NLP. ``st.enabled[c]`` turns a
channel's canceller on or off (off: ``out = rx``, no other work), ``st.nlp_on[c]`` its NLP;
``reset(st, chans)`` for a new call (full canceller again); ``status(st, c)`` reports the ERLE
estimate (dB), the double-talk state and whether the channel is probing.
"""
from __future__ import annotations

import numpy as np
from numba import njit

TAPS = 1024  # samples, 128 ms tail
SB = 40  # samples per sub-block (5 ms)
KEEP = TAPS - 1 + SB  # reference samples kept across chunks (a tail and one sub-block)
BUF = KEEP + 513  # reference buffer length per channel (chunks up to 512 samples)
NFB = TAPS // SB + 2  # far-end sub-block powers kept (one tail)
MU = 0.7  # NLMS step
ALPHA = -0.5  # IPNLMS proportionality (-1 = NLMS, 1 = PNLMS)
DT_HANG = 240  # samples (30 ms) adaptation stays frozen after double talk
NLP_DB = 15.0  # an error this much below the far-end peak level is suppressed
CONVERGED = 25.0  # dB of ERLE (estimate) from which the filter counts as converged
DT_ERR = 0.5  # converged and error above this share of the rx power: double talk
NLP_RX = 8.0  # ... or the error is 9 dB below the rx power (echo only, partly cancelled)
ROBUST = 2.0  # error clip, in units of the usual residual's RMS, once converged
WIN = 256  # taps (32 ms) of the sparse window used once converged
WIN_SHARE = 0.9995  # ... if it holds this share of the filter's energy (-33 dB outside)
WIN_SHARE_WIDE = 0.995  # 256 taps: this share will do above SPARSE_WIDE dB of ERLE (speech
# leaves ~1 % of misadjustment noise in the taps it does not excite, where a hybrid's path has
# nothing: the whole tail would run for good)
SPARSE_WIDE = 31.0
MID = 320  # taps (40 ms) of the window a converging filter narrows to ...
MID_IN = 18.0  # ... from this ERLE estimate (dB), the echo path clearly found, ...
MID_SHARE = 0.99  # ... if that window holds this share of its energy
MU_SPARSE = 0.5  # step inside the window (adapted on every ``SPARSE_EVERY``-th sample)
SPARSE_EVERY = 4  # samples between updates inside the window (tracking only)
SPARSE_IN = 28.0  # dB of ERLE estimate to narrow to the window
SPARSE_OUT = 15.0  # dB below which the whole tail is adapted again
GEIGEL = 0.5  # rx sub-block power above this share of the far-end maximum: double talk
REAL = 10.0  # dB of ERLE (estimate) from which the echo path counts as real: output the error
NOISE_RISE = 1.0012  # background estimate's rise per sub-block near the floor (1 dB/s)
NOISE_CREEP = 1.000115  # ... and while the error is 12 dB or more above it (0.1 dB/s)
NOISE_CAP = 0.5  # ... never above this share (-3 dB) of the error power's ~0.5 s average
# Echo-path probe (echo-free lines): a decimated NLMS filter at 2 kHz over the same 128 ms
PROBE_AFTER = 400  # far-active sub-blocks (2 s) with no real echo path before probing
DEC = 4  # decimation of the probe
PT = TAPS // DEC  # probe taps (128 ms at 2 kHz)
PSB = 20  # decimated samples per probe sub-block (10 ms)
PKEEP = PT - 1  # decimated reference samples kept across chunks
PBUF = PKEEP + 512 // DEC + 1
LP_TAIL = 31  # rx samples kept for the decimation filter (its length - 1)
MU_PROBE = 0.5
PROBE_ON = 8.0  # dB of probe ERLE (held filter) from which an echo path is taken to be there
_DBM0_MS = (32768.0 * 10.0 ** (-3.14 / 20.0)) ** 2 / 2.0
FAR_ACTIVE = _DBM0_MS * 10.0 ** (-45.0 / 10.0)
_NOISE0 = _DBM0_MS * 1e-7  # -70 dBm0: first background estimate
DELTA = TAPS * _DBM0_MS * 10.0 ** (-60.0 / 10.0)  # regularisation of the normalisation
PDELTA = PT * _DBM0_MS * 10.0 ** (-60.0 / 10.0)
PFAR = FAR_ACTIVE / 4.0  # far end active, as seen below 1 kHz


def _lowpass() -> np.ndarray:
    """Decimation filter of the probe: 32-tap Hamming-windowed sinc, cut-off 850 Hz."""
    k = np.arange(LP_TAIL + 1) - LP_TAIL / 2.0
    h = np.sinc(2 * 850.0 / 8000.0 * k) * np.hamming(LP_TAIL + 1)
    return (h / h.sum()).astype(np.float32)


LP = _lowpass()


class EchoState:
    def __init__(self, nchan: int, seed: int = 168):
        self.nchan = nchan
        self.w = np.zeros((nchan, TAPS), np.float32)  # w[j] weighs buf[p - TAPS + 1 + j]
        self.g = np.full((nchan, TAPS), 1.0 / TAPS, np.float32)
        self.buf = np.zeros((nchan, BUF), np.float32)
        self.bp = np.full(nchan, KEEP, np.int64)  # where the next chunk's ref goes
        self.fpow = np.zeros((nchan, NFB), np.float32)  # far-end sub-block powers (ring)
        self.fidx = np.zeros(nchan, np.int32)
        self.sbpos = np.zeros(nchan, np.int32)
        self.acc = np.zeros((nchan, 7), np.float64)  # sub-block sums: far, rx, e, echo est,
        # and rx, error of the filter held still over the sub-block (every 4th sample), and
        # the error of the backup filter there
        self.rxh = np.zeros((nchan, SB), np.float32)  # the current sub-block's rx
        self.hang = np.zeros(nchan, np.int32)
        self.dt = np.zeros(nchan, np.uint8)
        self.far_max = np.zeros(nchan, np.float32)
        self.erle = np.zeros(nchan, np.float32)  # smoothed ERLE, dB
        self.noise = np.full(nchan, _NOISE0, np.float32)  # background power
        self.level = np.full(nchan, _NOISE0, np.float32)  # error power, ~0.5 s average
        self.supp = np.zeros(nchan, np.uint8)  # NLP suppressing in the current sub-block
        self.seed = np.arange(nchan, dtype=np.uint32) * np.uint32(2654435761) + np.uint32(seed)
        self.enabled = np.ones(nchan, np.uint8)
        self.nlp_on = np.ones(nchan, np.uint8)
        self.escale = np.full(nchan, _DBM0_MS, np.float32)  # usual residual power
        self.lo_hi = np.zeros((nchan, 2), np.int64)  # active tap window
        self.lo_hi[:, 1] = TAPS
        # echo-path probe (see the module doc): mode 0 = full canceller, 1 = probing
        self.mode = np.zeros(nchan, np.uint8)
        # backup of a good converged filter (taps and window), restored after a double talk
        # the detector missed has pulled the filter off (see the module doc)
        self.bw = np.zeros((nchan, TAPS), np.float32)
        self.blohi = np.zeros((nchan, 2), np.int64)  # its window; empty: no backup
        self.berle = np.zeros(nchan, np.float32)  # the ERLE estimate it was taken at
        self.idle = np.zeros(nchan, np.int32)  # far-active sub-blocks without a real echo path
        self.pw = np.zeros((nchan, PT), np.float32)  # probe filter
        self.pwh = np.zeros((nchan, PT), np.float32)  # ... held over the probe sub-block
        self.pbuf = np.zeros((nchan, PBUF), np.float32)  # decimated reference
        self.pbp = np.full(nchan, PKEEP, np.int64)
        self.rtail = np.zeros((nchan, LP_TAIL), np.float32)  # last rx samples of the chunk
        # probe sub-block sums (rx, held error, far power), sample count, reference energy
        self.pacc = np.zeros((nchan, 5), np.float64)
        self.perle = np.zeros(nchan, np.float32)  # probe ERLE estimate, dB


def init(nchan: int) -> EchoState:
    return EchoState(nchan)


def reset(st: EchoState, chans=None) -> None:
    sel = slice(None) if chans is None else np.asarray(chans)
    st.w[sel] = 0.0
    st.g[sel] = 1.0 / TAPS
    st.buf[sel] = 0.0
    st.bp[sel] = KEEP
    st.fpow[sel] = 0.0
    st.sbpos[sel] = 0
    st.acc[sel] = 0.0
    st.hang[sel] = 0
    st.erle[sel] = 0.0
    st.dt[sel] = 0
    st.supp[sel] = 0
    st.rxh[sel] = 0.0
    st.noise[sel] = _NOISE0
    st.level[sel] = _NOISE0
    st.escale[sel] = _DBM0_MS
    st.lo_hi[sel, 0] = 0
    st.lo_hi[sel, 1] = TAPS
    st.mode[sel] = 0
    st.bw[sel] = 0.0
    st.blohi[sel] = 0
    st.berle[sel] = 0.0
    st.idle[sel] = 0
    st.pw[sel] = 0.0
    st.pwh[sel] = 0.0
    st.pbuf[sel] = 0.0
    st.pbp[sel] = PKEEP
    st.rtail[sel] = 0.0
    st.pacc[sel] = 0.0
    st.perle[sel] = 0.0


def status(st: EchoState, c: int) -> dict:
    return {"enabled": bool(st.enabled[c]), "erle_db": float(st.erle[c]),
            "taps": (int(st.lo_hi[c, 0]), int(st.lo_hi[c, 1])),
            "double_talk": bool(st.dt[c]), "nlp": bool(st.nlp_on[c]),
            "probing": bool(st.mode[c]), "probe_erle_db": float(st.perle[c])}


def process(st: EchoState, rx, ref, out, pre_nlp=None) -> int:
    """Cancel echo for all channels; ``pre_nlp`` (optional, like ``out``) gets the error."""
    if rx.shape != ref.shape or rx.shape != out.shape or rx.shape[1] > BUF - KEEP:
        raise ValueError("rx, ref and out must have the same (nchan, n<=512) shape")
    if pre_nlp is None:
        pre_nlp = out
        keep = False
    else:
        keep = True
    return _process(rx, ref, out, pre_nlp, keep, st.w, st.g, st.buf, st.bp, st.fpow, st.fidx,
                    st.sbpos, st.acc, st.hang, st.dt, st.far_max, st.erle, st.noise, st.supp,
                    st.seed, st.enabled, st.nlp_on, st.escale, st.lo_hi, st.rxh, st.level,
                    st.mode, st.idle, st.pw, st.pwh, st.pbuf, st.pbp, st.rtail, st.pacc, st.perle,
                    st.bw, st.blohi, st.berle)


# The kernels below index slices from 0 so numba can prove the indices non-negative: with a
# variable start it emits a wrap-around test per access and LLVM no longer vectorises (16 x).

@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _dot(w, x, o, lo, hi):
    """sum_j w[j] x[o + j], lo <= j < hi (float32, vectorised)."""
    ws = w[lo:hi]
    xs = x[o + lo : o + hi]
    y = np.float32(0.0)
    for j in range(ws.shape[0]):
        y += ws[j] * xs[j]
    return y


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _wdot(g, x, o, lo, hi):
    """sum_j g[j] x[o + j]^2."""
    gs = g[lo:hi]
    xs = x[o + lo : o + hi]
    y = np.float32(0.0)
    for j in range(gs.shape[0]):
        v = xs[j]
        y += gs[j] * v * v
    return y


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _update(w, g, x, o, k, lo, hi):
    ws = w[lo:hi]
    gs = g[lo:hi]
    xs = x[o + lo : o + hi]
    for j in range(ws.shape[0]):
        ws[j] += k * gs[j] * xs[j]


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _gains(w, g, c, lo, hi):
    ws = w[c, lo:hi]
    gs = g[c, lo:hi]
    s = np.float32(0.0)
    for j in range(ws.shape[0]):
        s += abs(ws[j])
    a = np.float32((1.0 - ALPHA) / (2.0 * ws.shape[0]))
    b = np.float32((1.0 + ALPHA) / (2.0 * s + 1e-3))
    for j in range(ws.shape[0]):
        gs[j] = a + b * abs(ws[j])


@njit(nogil=True, cache=True, _nrt=False)
def _best_run(wc, win):
    """The ``win`` consecutive taps of ``wc`` holding the most energy: (their first tap, their
    energy, the whole filter's energy)."""
    run = 0.0
    for j in range(win):
        run += wc[j] * wc[j]
    tot = run
    best = run
    bj = 0
    for j in range(win, wc.shape[0]):
        v = wc[j] * wc[j]
        tot += v
        run += v - wc[j - win] * wc[j - win]
        if run > best:
            best = run
            bj = j - win + 1
    return bj, best, tot


@njit(nogil=True, cache=True, _nrt=False)
def _narrow(wc, lo_hi, c, bj, win):
    """Clear every tap outside ``[bj, bj + win)`` and make that the active window."""
    for j in range(wc.shape[0]):
        if j < bj or j >= bj + win:
            wc[j] = 0.0
    lo_hi[c, 0] = bj
    lo_hi[c, 1] = bj + win


@njit(nogil=True, cache=True, _nrt=False)
def _window(w, c, lo_hi, wide):
    """Narrow to the smallest window (128 or 256 taps) holding nearly all the filter's energy."""
    wc = w[c]
    for win in (WIN // 2, WIN):
        bj, best, tot = _best_run(wc, win)
        if best >= (WIN_SHARE_WIDE if wide and win == WIN else WIN_SHARE) * tot:
            _narrow(wc, lo_hi, c, bj, win)
            return


@njit(nogil=True, cache=True, _nrt=False)
def _middle(w, c, lo_hi):
    """Converging on a real echo path: keep only the ``MID`` taps holding ``MID_SHARE`` of the
    filter's energy, if any, and go on converging there at the full rate (4 x cheaper than
    the whole tail, and faster: fewer taps)."""
    bj, best, tot = _best_run(w[c], MID)
    if best >= MID_SHARE * tot:
        _narrow(w[c], lo_hi, c, bj, MID)


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _held_errors(wc, bwc, bc, o, d, lo, hi, blo, bhi):
    """The filter ``wc`` (taps lo..hi) and its backup ``bwc`` (blo..bhi; none if empty) held
    still over one sub-block, on every 4th sample: (rx power, filter's error power, backup's
    error power) summed. ``d`` holds the sub-block's rx, ``bc[o + q ...]`` the reference whose
    filtered value is sample q's echo estimate. Both the double-talk test (the coming
    sub-block) and the look-back (the sub-block just done) measure a filter this way."""
    pd = 0.0
    pe = 0.0
    pk = 0.0
    for q in range(0, SB, 4):
        e = d[q] - _dot(wc, bc, o + q, lo, hi)
        pe += e * e
        pd += d[q] * d[q]
        if bhi > blo:
            e = d[q] - _dot(bwc, bc, o + q, blo, bhi)
            pk += e * e
    return pd, pe, pk


@njit(nogil=True, cache=True, _nrt=False)
def _room(b, p, keep, need):
    """Where the next ``need`` samples go in the history buffer ``b`` whose next free slot is
    ``p``: if they do not fit, the last ``keep`` samples move to the front first."""
    if p + need > b.shape[0]:
        for j in range(keep):
            b[j] = b[p - keep + j]
        p = keep
    return p


@njit(nogil=True, cache=True, _nrt=False)
def _passthrough(rx, out, pre, keep):
    """out = rx (and pre = rx if kept): a channel with no canceller working on it."""
    for i in range(rx.shape[0]):
        out[i] = rx[i]
        if keep:
            pre[i] = rx[i]


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _process(rx, ref, out, pre, keep, w, g, buf, bp, fpow, fidx, sbpos, acc, hang, dt, far_max,
             erle, noise, supp, seed, enabled, nlp_on, escale, lo_hi, rxh, level, mode, idle, pw,
             pwh, pbuf, pbp, rtail, pacc, perle, bw, blohi, berle):
    nch, n = rx.shape
    for c in range(nch):
        if not enabled[c]:
            _passthrough(rx[c], out[c], pre[c], keep)
            continue
        wc = w[c]
        gc = g[c]
        bc = buf[c]
        p0 = _room(bc, bp[c], KEEP, n)  # the last KEEP reference samples and the chunk
        for i in range(n):
            bc[p0 + i] = ref[c, i]
        if mode[c] == 0 and idle[c] >= PROBE_AFTER:
            # no real echo path after 3 s of far-end speech: probe for one instead
            mode[c] = 1
            pw[c] = 0.0
            pwh[c] = 0.0
            pbuf[c] = 0.0
            pbp[c] = PKEEP
            rtail[c] = 0.0
            pacc[c] = 0.0
            perle[c] = 0.0
            supp[c] = 0
            dt[c] = 0
        elif mode[c] == 1 and perle[c] > PROBE_ON:
            # the probe found an echo path: the full canceller again, from scratch
            mode[c] = 0
            idle[c] = 0
            wc[:] = 0.0
            gc[:] = np.float32(1.0 / TAPS)
            lo_hi[c, 0] = 0
            lo_hi[c, 1] = TAPS
            erle[c] = 0.0
            hang[c] = 0
            blohi[c, 1] = 0
            sbpos[c] = 0
            acc[c] = 0.0
            fpow[c] = 0.0
        if mode[c] == 1:
            _passthrough(rx[c], out[c], pre[c], keep)
            _probe(c, rx[c], bc, p0, pw[c], pwh[c], pbuf[c], pbp, rtail[c], pacc, perle)
            bp[c] = p0 + n
            continue
        # per-channel state in locals for the sample loop (written back at sub-block ends):
        # array loads and stores per sample cost more than the short sparse-window kernels
        a0, a1, a2, a3 = acc[c, 0], acc[c, 1], acc[c, 2], acc[c, 3]
        sb = sbpos[c]
        hg = hang[c]
        er = erle[c]
        fmx = far_max[c]
        lo = lo_hi[c, 0]
        hi = lo_hi[c, 1]
        sparse = hi - lo <= WIN
        mu = np.float32(MU_SPARSE) if sparse else np.float32(MU)
        # robust step: once converged, errors far above the usual residual are clipped,
        # so the onset of near-end speech moves the filter very little
        lim = np.float32(ROBUST * np.sqrt(escale[c])) if er > CONVERGED else np.float32(3e38)
        real = er > REAL
        rh = rxh[c]
        bwc = bw[c]
        blo = blohi[c, 0]
        bhi = blohi[c, 1]
        fwd = False  # the double-talk test measured the held filter on this sub-block already
        for i in range(n):
            p = p0 + i
            xr = ref[c, i]
            o = p - TAPS + 1
            # no real echo path yet and the far end idle over the whole tail: the output is
            # rx anyway and the estimate of an idle far end's echo nothing (an echo-free
            # line whose subscriber talks to a silent conference costs next to nothing)
            y = _dot(wc, bc, o, lo, hi) if real or fmx > FAR_ACTIVE else np.float32(0.0)
            d = rx[c, i]
            rh[sb] = d
            e = d - y
            ea = min(max(e, -lim), lim)
            a0 += xr * xr
            a1 += d * d
            a2 += e * e
            a3 += y * y
            # adapt unless double talk or far end idle
            if sb == 0 and i + SB <= n and fmx > FAR_ACTIVE:
                # power Geigel test on the coming sub-block, before adapting on it
                pa = 0.0
                for j in range(SB):
                    pa += rx[c, i + j] * rx[c, i + j]
                if pa / SB > GEIGEL * fmx:
                    hg = DT_HANG
                    dt[c] = 1
                elif er > CONVERGED and pa / SB > 4.0 * noise[c] and pa / SB > 0.001 * fmx:
                    # error test on every 4th sample of the coming sub-block, current filter
                    pa4, pe4, pk4 = _held_errors(wc, bwc, bc, o, rx[c, i : i + SB], lo, hi,
                                                 blo, bhi)
                    acc[c, 6] = pk4
                    # the filter held still over the sub-block: also the ERLE estimate's error
                    acc[c, 4] = pa4
                    acc[c, 5] = pe4
                    fwd = True
                    if pe4 * 4.0 / SB > DT_ERR * pa / SB:
                        hg = DT_HANG
                        dt[c] = 1
            if hg == 0 and fmx > FAR_ACTIVE:
                if sparse and i % SPARSE_EVERY:
                    pass  # sparse window: adapt on every 4th sample only (tracking)
                else:
                    den = np.float32(DELTA) + _wdot(gc, bc, o, lo, hi)
                    _update(wc, gc, bc, o, mu * ea / den, lo, hi)
            elif hg > 0:
                hg -= 1
            v = e if real else d  # rx passes until the filter has found a real echo path
            out[c, i] = v
            if keep:
                pre[c, i] = v
            sb += 1
            if sb == SB:
                sb = 0
                acc[c, 0], acc[c, 1], acc[c, 2], acc[c, 3] = a0, a1, a2, a3
                if not fwd and (fmx > FAR_ACTIVE or a0 > SB * FAR_ACTIVE):
                    # the filter as it is now, looking back over the sub-block (every 4th
                    # sample): a real echo path is predicted by fixed taps; taps that merely
                    # follow a near-end tone sample by sample (no echo, double talk missed)
                    # are not, so this error, not the running one, makes the ERLE estimate
                    pb, eb, ek = _held_errors(wc, bwc, bc, o - SB + 1, rh, lo, hi, blo, bhi)
                    acc[c, 4] = pb
                    acc[c, 5] = eb
                    acc[c, 6] = ek
                fwd = False
                hang[c] = hg
                # held errors of the filter and of its backup over this sub-block
                bpr, bcur, bbak = acc[c, 4], acc[c, 5], acc[c, 6]
                _subblock(c, acc, fpow, fidx, hang, dt, far_max, erle, noise, supp, escale,
                          level)
                a0, a1, a2, a3 = 0.0, 0.0, 0.0, 0.0
                hg = hang[c]
                er = erle[c]
                fmx = far_max[c]
                if er > REAL:
                    idle[c] = 0
                elif fmx > FAR_ACTIVE:
                    idle[c] += 1
                if hi - lo == TAPS or hi - lo == MID:
                    if er > SPARSE_IN:
                        _window(w, c, lo_hi, er > SPARSE_WIDE)
                    elif er > MID_IN and hi - lo == TAPS:
                        _middle(w, c, lo_hi)
                    elif er < SPARSE_OUT and hi - lo == MID:
                        lo_hi[c, 0] = 0
                        lo_hi[c, 1] = TAPS
                elif er < SPARSE_OUT:
                    lo_hi[c, 0] = 0
                    lo_hi[c, 1] = TAPS
                elif hi - lo == WIN and fidx[c] == 0 and er > SPARSE_IN:
                    # now and then (every NFB sub-blocks) try narrowing a 256-tap window to 128
                    _window(w, c, lo_hi, False)
                if fmx > FAR_ACTIVE and bpr > 0.0:
                    if bhi > blo and 1.4 * bbak < bcur and 30.0 * bbak < bpr:
                        # the backup does 1.5 dB better: undetected double talk pulled the filter
                        # off; back to the backup (taps and window)
                        for j in range(TAPS):
                            wc[j] = bwc[j] if blo <= j < bhi else np.float32(0.0)
                        lo_hi[c, 0] = blo
                        lo_hi[c, 1] = bhi
                        erle[c] = max(erle[c], np.float32(CONVERGED + 0.5))
                        er = erle[c]
                    elif (er > CONVERGED and hg == 0 and not dt[c] and 100.0 * bcur < bpr
                          and (bhi <= blo or (bcur <= bbak and er >= berle[c] - 1.0))):
                        # a good filter, no worse than the backup: it becomes the backup
                        lo = lo_hi[c, 0]
                        hi = lo_hi[c, 1]
                        if lo != blo or hi != bhi:
                            for j in range(TAPS):
                                bwc[j] = 0.0
                        for j in range(lo, hi):
                            bwc[j] = wc[j]
                        blohi[c, 0] = lo
                        blohi[c, 1] = hi
                        berle[c] = er
                # the held errors of single sub-blocks are noisy: a filter slowly pulled off
                # could win one now and then; it must also be near the ERLE estimate the
                # backup was taken at (which sinks 0.5 dB/s, so the backup follows a slowly
                # changing echo path)
                berle[c] -= np.float32(0.0025)
                blo = blohi[c, 0]
                bhi = blohi[c, 1]
                lo = lo_hi[c, 0]
                hi = lo_hi[c, 1]
                sparse = hi - lo <= WIN
                mu = np.float32(MU_SPARSE) if sparse else np.float32(MU)
                lim = (np.float32(ROBUST * np.sqrt(escale[c])) if er > CONVERGED
                       else np.float32(3e38))
                _gains(w, g, c, lo, hi)
                real = er > REAL
                if supp[c] and nlp_on[c]:
                    # NLP: this sub-block (its part in this chunk) becomes comfort noise
                    a = np.float32(np.sqrt(12.0 * noise[c]))
                    for j in range(max(0, i + 1 - SB), i + 1):
                        s = (np.int64(seed[c]) * 1664525 + 1013904223) & 0xFFFFFFFF
                        seed[c] = s
                        out[c, j] = np.float32((s >> 8) / 16777216.0 - 0.5) * a
        acc[c, 0], acc[c, 1], acc[c, 2], acc[c, 3] = a0, a1, a2, a3
        sbpos[c] = sb
        hang[c] = hg
        bp[c] = p0 + n
    return nch


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _lp(x, o):
    """The decimation filter's output for x[o .. o + LP_TAIL] (the newest sample last)."""
    xs = x[o : o + LP_TAIL + 1]
    y = np.float32(0.0)
    for k in range(LP_TAIL + 1):
        y += LP[k] * xs[k]
    return y


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _axpy(w, x, o, k):
    """w[j] += k x[o + j]."""
    xs = x[o : o + w.shape[0]]
    for j in range(w.shape[0]):
        w[j] += k * xs[j]


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _probe(c, rx, bc, p0, pw, pwh, pb, pbp, rt, pacc, perle):
    """One channel's chunk in probe mode: decimate ref and rx by 4 (low-pass below 1 kHz,
    where most speech power is), adapt a 256-tap NLMS filter on them while the far end is
    active, and measure the error of the filter *held* over each 10 ms sub-block (every other
    decimated sample): a real echo path is predicted by fixed taps, a near-end tone the
    filter merely follows sample by sample is not."""
    n = rx.shape[0]
    q = _room(pb, pbp[c], PKEEP, n // DEC + 1)
    ph = int(pacc[c, 3])  # samples since the probe started, modulo DEC * PSB
    for i in range(n):
        ph += 1
        if ph % DEC:
            continue
        # decimated sample: newest input at chunk index i (ref at bc[p0 + i])
        xd = _lp(bc, p0 + i - LP_TAIL)
        old = pb[q - PT]
        pb[q] = xd
        q += 1
        o = q - PT
        en = max(pacc[c, 4] + xd * xd - old * old, 0.0)  # reference energy in the window
        pacc[c, 4] = en
        pacc[c, 2] += xd * xd
        dd = np.float32(0.0)
        if en <= PT * PFAR:
            pass  # (the decimated rx is only needed while the far end is active)
        elif i >= LP_TAIL:
            dd = _lp(rx, i - LP_TAIL)
        else:
            for k in range(LP_TAIL + 1):
                j = i - LP_TAIL + k
                dd += LP[k] * (rx[j] if j >= 0 else rt[LP_TAIL + j])
        if en <= PT * PFAR:
            pass  # far end idle over the window: nothing to learn, nothing to measure
        elif (ph // DEC) % 2:  # odd decimated samples adapt, even ones measure (half each)
            e = dd - _dot(pw, pb, o, 0, PT)
            _axpy(pw, pb, o, np.float32(MU_PROBE * e / (PDELTA + en)))
        else:
            eh = dd - _dot(pwh, pb, o, 0, PT)
            pacc[c, 0] += dd * dd
            pacc[c, 1] += eh * eh
        if ph == DEC * PSB:
            ph = 0
            # far end active, and the rx under half its power (else the near end talks: no
            # evidence either way); the estimate is floored at -10 dB so an echo path that
            # appears after long near-end talk is found as fast as on a fresh probe
            pr = pacc[c, 0] / (PSB // 2)
            if pacc[c, 2] > PSB * PFAR and 0.0 < pr < GEIGEL * max(pacc[c, 2] / PSB, en / PT):
                r = max(10.0 * np.log10((pacc[c, 0] + 1e-3) / (pacc[c, 1] + 1e-3)), -10.0)
                a = 0.1 if r > perle[c] else 0.02
                perle[c] = np.float32((1.0 - a) * perle[c] + a * r)
            pacc[c, 0] = 0.0
            pacc[c, 1] = 0.0
            pacc[c, 2] = 0.0
            for j in range(PT):
                pwh[j] = pw[j]
            en = 0.0  # the running sum afresh (no drift)
            xs = pb[o : q]
            for j in range(PT):
                en += xs[j] * xs[j]
            pacc[c, 4] = en
    pacc[c, 3] = ph
    pbp[c] = q
    for k in range(LP_TAIL):
        j = n - LP_TAIL + k
        rt[k] = rx[j] if j >= 0 else rt[k + n]


@njit(nogil=True, cache=True, _nrt=False)
def _subblock(c, acc, fpow, fidx, hang, dt, far_max, erle, noise, supp, escale, level):
    pf = acc[c, 0] / SB
    pr = acc[c, 1] / SB
    pe = acc[c, 2] / SB
    py = acc[c, 3] / SB
    pb = acc[c, 4]
    eb = acc[c, 5]
    for k in range(7):
        acc[c, k] = 0.0
    fpow[c, fidx[c]] = pf
    fidx[c] = (fidx[c] + 1) % NFB
    fm = 0.0
    for k in range(NFB):
        fm = max(fm, fpow[c, k])
    far_max[c] = fm
    active = fm > FAR_ACTIVE
    converged = erle[c] > CONVERGED
    double = active and (pr > GEIGEL * fm or (converged and pe > DT_ERR * pr and pr > 4.0 * noise[c]
                                            and pr > 0.001 * fm))
    if double:
        hang[c] = DT_HANG
        dt[c] = 1
    elif hang[c] == 0:
        dt[c] = 0
    if active and not dt[c] and pr > 10.0 * noise[c]:
        r = 10.0 * np.log10((pb + 1e-3) / (eb + 1e-3))
        a = 0.1 if r > erle[c] else 0.005  # rises fast, falls over ~1 s (near end slipping by)
        erle[c] = np.float32((1.0 - a) * erle[c] + a * r)
    if active and not dt[c]:
        escale[c] = np.float32(0.95 * escale[c] + 0.05 * max(pe, 4.0 * noise[c]))
    elif not active:
        escale[c] = np.float32(max(escale[c], 4.0 * noise[c]))
    # background level (minimum tracking of the error): fast fall; rise about 1 dB/s while the
    # error stays within 12 dB of it, 0.1 dB/s while it is above (talk); at most 3 dB under the
    # error's recent average, so continuous talk cannot drive it up without bound
    level[c] = np.float32(0.99 * level[c] + 0.01 * pe)
    if pe < noise[c]:
        noise[c] = np.float32(pe + 1e-3)
    elif pe < 16.0 * noise[c]:
        noise[c] = np.float32(noise[c] * NOISE_RISE)
    else:
        noise[c] = np.float32(noise[c] * NOISE_CREEP)
    noise[c] = np.float32(min(noise[c], NOISE_CAP * level[c] + 1e-3))
    # NLP only once the filter has found a real echo path: with no echo, nothing to suppress
    near = pr - py  # what the echo estimate leaves of the rx power: the near end's share
    supp[c] = 1 if active and erle[c] > REAL and (pe * 10.0 ** (NLP_DB / 10.0) < fm or (
        converged and (pe * NLP_RX < pr or near < 0.25 * pe))) else 0
