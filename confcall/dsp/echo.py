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
* Sparse window: a hybrid's echo path is a bulk delay and a few ms of response. Once well
  converged (ERLE estimate above ``SPARSE_IN``), if 128 (else ``WIN`` = 256) consecutive taps
  hold 99.95 % of the filter's energy, the other taps are cleared and only that window is
  filtered and adapted, on every ``SPARSE_EVERY``-th (4th) sample only and with the step
  ``MU_SPARSE``: a converged filter only tracks, and the fewer updates cost less and let
  undetected near-end speech move it less; a 256-tap window is tried again for 128 taps every
  ``NFB`` sub-blocks (the first narrowing often keeps the whole tail's misadjustment noise
  above the 0.05 %); if the ERLE estimate falls under ``SPARSE_OUT`` (echo path change) the
  whole tail adapts again, on every sample.
* Cost: about 3.25 × 1024 multiply-adds per sample and channel while converging (the look-back
  adds a quarter), 128 or 256 plus a quarter of 3 × 128 or 256 after (see ``bench/dsp.py``).
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
``reset(st, chans)`` for a new call; ``status(st, c)`` reports the ERLE estimate (dB) and the
double-talk state.
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
MU_SPARSE = 0.5  # step inside the window (adapted on every ``SPARSE_EVERY``-th sample)
SPARSE_EVERY = 4  # samples between updates inside the window (tracking only)
SPARSE_IN = 28.0  # dB of ERLE estimate to narrow to the window
SPARSE_OUT = 15.0  # dB below which the whole tail is adapted again
GEIGEL = 0.5  # rx sub-block power above this share of the far-end maximum: double talk
REAL = 10.0  # dB of ERLE (estimate) from which the echo path counts as real: output the error
NOISE_RISE = 1.0012  # background estimate's rise per sub-block near the floor (1 dB/s)
NOISE_CREEP = 1.000115  # ... and while the error is 12 dB or more above it (0.1 dB/s)
NOISE_CAP = 0.5  # ... never above this share (-3 dB) of the error power's ~0.5 s average
_DBM0_MS = (32768.0 * 10.0 ** (-3.14 / 20.0)) ** 2 / 2.0
FAR_ACTIVE = _DBM0_MS * 10.0 ** (-45.0 / 10.0)
_NOISE0 = _DBM0_MS * 1e-7  # -70 dBm0: first background estimate
DELTA = TAPS * _DBM0_MS * 10.0 ** (-60.0 / 10.0)  # regularisation of the normalisation


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
        self.acc = np.zeros((nchan, 6), np.float64)  # sub-block sums: far, rx, e, echo est,
        # and rx, error of the filter held still over the sub-block (every 4th sample)
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


def status(st: EchoState, c: int) -> dict:
    return {"enabled": bool(st.enabled[c]), "erle_db": float(st.erle[c]),
            "taps": (int(st.lo_hi[c, 0]), int(st.lo_hi[c, 1])),
            "double_talk": bool(st.dt[c]), "nlp": bool(st.nlp_on[c])}


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
                    st.seed, st.enabled, st.nlp_on, st.escale, st.lo_hi, st.rxh, st.level)


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
def _window(w, c, lo_hi):
    """Narrow to the smallest window (128 or 256 taps) holding nearly all the filter's energy."""
    wc = w[c]
    tot = 0.0
    for j in range(TAPS):
        tot += wc[j] * wc[j]
    for win in (WIN // 2, WIN):
        run = 0.0
        for j in range(win):
            run += wc[j] * wc[j]
        best = run
        bj = 0
        for j in range(win, TAPS):
            run += wc[j] * wc[j] - wc[j - win] * wc[j - win]
            if run > best:
                best = run
                bj = j - win + 1
        if best >= WIN_SHARE * tot:
            for j in range(TAPS):
                if j < bj or j >= bj + win:
                    wc[j] = 0.0
            lo_hi[c, 0] = bj
            lo_hi[c, 1] = bj + win
            return


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _process(rx, ref, out, pre, keep, w, g, buf, bp, fpow, fidx, sbpos, acc, hang, dt, far_max,
             erle, noise, supp, seed, enabled, nlp_on, escale, lo_hi, rxh, level):
    nch, n = rx.shape
    for c in range(nch):
        if not enabled[c]:
            for i in range(n):
                out[c, i] = rx[c, i]
                if keep:
                    pre[c, i] = rx[c, i]
            continue
        wc = w[c]
        gc = g[c]
        bc = buf[c]
        p0 = bp[c]
        if p0 + n > BUF:  # keep the last KEEP reference samples, make room for the chunk
            for j in range(KEEP):
                bc[j] = bc[p0 - KEEP + j]
            p0 = KEEP
        for i in range(n):
            bc[p0 + i] = ref[c, i]
        # per-channel state in locals for the sample loop (written back at sub-block ends):
        # array loads and stores per sample cost more than the short sparse-window kernels
        a0, a1, a2, a3 = acc[c, 0], acc[c, 1], acc[c, 2], acc[c, 3]
        sb = sbpos[c]
        hg = hang[c]
        er = erle[c]
        fmx = far_max[c]
        lo = lo_hi[c, 0]
        hi = lo_hi[c, 1]
        sparse = hi - lo < TAPS
        mu = np.float32(MU_SPARSE) if sparse else np.float32(MU)
        # robust step: once converged, errors far above the usual residual are clipped,
        # so the onset of near-end speech moves the filter very little
        lim = np.float32(ROBUST * np.sqrt(escale[c])) if er > CONVERGED else np.float32(3e38)
        real = er > REAL
        rh = rxh[c]
        fwd = False  # the double-talk test measured the held filter on this sub-block already
        for i in range(n):
            p = p0 + i
            xr = ref[c, i]
            o = p - TAPS + 1
            y = _dot(wc, bc, o, lo, hi)
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
                    pe4 = 0.0
                    pa4 = 0.0
                    for q in range(0, SB, 4):
                        y4 = _dot(wc, bc, o + q, lo, hi)
                        e4 = rx[c, i + q] - y4
                        pe4 += e4 * e4
                        pa4 += rx[c, i + q] * rx[c, i + q]
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
                    pb = 0.0
                    eb = 0.0
                    for q in range(0, SB, 4):
                        yb = _dot(wc, bc, o - SB + 1 + q, lo, hi)
                        eq = rh[q] - yb
                        pb += rh[q] * rh[q]
                        eb += eq * eq
                    acc[c, 4] = pb
                    acc[c, 5] = eb
                fwd = False
                hang[c] = hg
                _subblock(c, acc, fpow, fidx, hang, dt, far_max, erle, noise, supp, escale,
                          level)
                a0, a1, a2, a3 = 0.0, 0.0, 0.0, 0.0
                hg = hang[c]
                er = erle[c]
                fmx = far_max[c]
                if hi - lo == TAPS:
                    if er > SPARSE_IN:
                        _window(w, c, lo_hi)
                elif er < SPARSE_OUT:
                    lo_hi[c, 0] = 0
                    lo_hi[c, 1] = TAPS
                elif hi - lo == WIN and fidx[c] == 0 and er > SPARSE_IN:
                    # now and then (every NFB sub-blocks) try narrowing a 256-tap window to 128
                    _window(w, c, lo_hi)
                lo = lo_hi[c, 0]
                hi = lo_hi[c, 1]
                sparse = hi - lo < TAPS
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


@njit(nogil=True, cache=True, _nrt=False)
def _subblock(c, acc, fpow, fidx, hang, dt, far_max, erle, noise, supp, escale, level):
    pf = acc[c, 0] / SB
    pr = acc[c, 1] / SB
    pe = acc[c, 2] / SB
    py = acc[c, 3] / SB
    pb = acc[c, 4]
    eb = acc[c, 5]
    for k in range(6):
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
