"""Line echo canceller (ITU-T G.168 style) for the hybrid echo of each trunk channel.

What it does
------------
Removes the echo of what we send (``ref``, the far-end signal from the canceller's point of view)
from what comes back on the same channel (``rx``), for echo paths up to ``TAPS`` = 1040 samples
(130 ms tail) and an echo return loss of 6 dB or more. It detects double talk so the filter does
not diverge while the line's subscriber talks, and a non-linear processor (NLP) replaces the
small residual echo by comfort noise at the line's own background level.

How it works
------------
* Partitioned-block frequency-domain adaptive filter (PBFDAF / MDF, Soo & Pang 1990): blocks of
  ``L`` = 80 samples (10 ms), FFTs of ``N`` = 160 points, ``P`` = 13 partitions of 80 taps.
  Each block: FFT of the last 160 reference samples (kept in a ring of the last ``P`` spectra),
  echo estimate = inverse FFT of the sum over partitions of weight × delayed reference spectrum
  (overlap-save, last 80 samples), error e = rx - estimate, FFT of [0…0, e], and the update
  W_p += 2 μ conj(X_p) E / (sum over partitions of |X_p|² + δ): a normalised LMS step per
  frequency bin, so coloured speech converges about as fast as white noise. The gradient
  constraint (zeroing the circular part of one partition's weights) rotates over the partitions,
  one per block. The FFTs run batched over all channels (scipy's pocketfft); the complex
  multiply-adds and all the per-channel logic are numba kernels over the channel arrays.
* Convergence is tracked as an ERLE estimate (rx/error power per sub-block of ``SB`` = 40
  samples, in dB, rising fast and falling over about a second); above ``CONVERGED`` (25 dB) the
  filter counts as converged and adapts with the smaller step ``MU_CONV``.
* Double-talk detector, per 5 ms sub-block, evaluated on the *coming* block before adapting on it
  (its error is computed with the current filter): (a) power form of the Geigel test: the rx
  power exceeds half (``GEIGEL``) the largest far-end sub-block power of the last tail; (b) once
  converged, the error exceeds half (``DT_ERR``) the rx power while the rx is above the
  background and within 30 dB of the far end. Both are re-checked on each finished sub-block. A
  detection freezes adaptation for ``DT_HANG`` samples (30 ms).
* Adaptation runs only while the far end is active (above -45 dBm0 in the last tail), and once
  converged the error driving it is clipped at ``ROBUST`` times the usual residual RMS (a
  robust, Huber-like step), so near-end syllables that slip past the detector barely move it.
* NLP, decided per sub-block on that sub-block's own error, while the far end is active: the
  sub-block becomes comfort noise at the background level (minimum of the error's sub-block
  power, rising 1 dB/s) if the error is ``NLP_DB`` (15 dB) below the far-end peak of the last
  tail, or, once converged, if it is 9 dB below the rx level or the rx power the echo estimate
  leaves over (rx power - estimate power: the near end's share) is under a quarter of the error
  power. A near-end talker makes up most of the error and is louder than that, so double talk
  passes; one more than 15 dB below a loud far end is clipped, the usual NLP trade-off.
* Cost per sample: about 4 × 13 complex multiply-adds per frequency bin per block and five
  160-point real FFTs per 80 samples, against 3 × 1024 multiply-adds per sample for a
  time-domain NLMS over the whole tail (see ``bench/dsp.py``).

How to use it
-------------
``st = init(nchan)``; per chunk ``process(st, rx, ref, out)`` with float32 ``(nchan, n)`` arrays:
``rx`` the decoded line audio, ``ref`` what was sent on the line, time-aligned with ``rx`` (the
engine passes the previous tick's output), ``out`` the echo-free audio; ``pre_nlp`` optionally
receives the error before the NLP. Chunks of a multiple of ``L`` samples (the engine's 160)
pass without delay; other chunk lengths are re-blocked with a delay of ``L`` samples (10 ms), so
keep one chunk length per state. ``st.enabled[c]`` turns a channel's canceller on or off (off:
``out = rx``), ``st.nlp_on[c]`` its NLP; ``reset(st, chans)`` for a new call; ``status(st, c)``
reports the ERLE estimate (dB) and the double-talk state.
"""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft
from numba import njit

L = 80  # samples per block (10 ms)
N = 2 * L  # FFT points
K = N // 2 + 1  # frequency bins
P = 13  # partitions
TAPS = P * L  # samples, 130 ms tail
SB = 40  # samples per sub-block (5 ms)
NFB = TAPS // SB + 2  # far-end sub-block powers kept (one tail)
MU = 0.2  # normalised step while converging
ALPHA = -1.0  # proportionate share of the partitions' steps (-1 = plain MDF, 1 = fully)
MU_CONV = 0.25  # ... once converged (lower misadjustment, slower drift under near-end speech)
DT_HANG = 240  # samples (30 ms) adaptation stays frozen after double talk
NLP_DB = 15.0  # an error this much below the far-end peak level is suppressed
CONVERGED = 25.0  # dB of ERLE (estimate) from which the filter counts as converged
DT_ERR = 0.5  # converged and error above this share of the rx power: double talk
NLP_RX = 8.0  # ... or the error is 9 dB below the rx power (echo only, partly cancelled)
ROBUST = 2.0  # error clip, in units of the usual residual's RMS, once converged
GEIGEL = 0.5  # rx sub-block power above this share of the far-end maximum: double talk
_DBM0_MS = (32768.0 * 10.0 ** (-3.14 / 20.0)) ** 2 / 2.0
FAR_ACTIVE = _DBM0_MS * 10.0 ** (-45.0 / 10.0)
DELTA = P * N * _DBM0_MS * 10.0 ** (-60.0 / 10.0)  # per-bin regularisation (|X|² summed)
FLOOR = 0.01  # ... plus this share of the mean bin power (weak bins of coloured speech)


class EchoState:
    def __init__(self, nchan: int, seed: int = 168):
        self.nchan = nchan
        self.W = np.zeros((nchan, P, K), np.complex64)  # partition weights, frequency domain
        self.X = np.zeros((nchan, P, K), np.complex64)  # reference spectra (ring of P blocks)
        self.kblk = np.zeros(1, np.int64)  # blocks processed (ring position, same for all)
        self.xbuf = np.zeros((nchan, N), np.float32)  # last N reference samples
        self.Y = np.zeros((nchan, K), np.complex64)  # echo estimate spectrum (work)
        self.ef = np.zeros((nchan, N), np.float32)  # [0…0, error] frame (work)
        self.pw = np.zeros((nchan, K), np.float32)  # sum over partitions of |X|² (work)
        self.gp = np.ones((nchan, P), np.float32)  # per-partition step gains (mean 1)
        self.g = np.zeros(K, np.complex64)  # normalised error spectrum of one channel (work)
        self.muv = np.zeros(nchan, np.float32)  # this block's step per channel (work)
        self.rxs = np.zeros((nchan, L), np.float32)  # re-blocking of odd chunk lengths
        self.refs = np.zeros((nchan, L), np.float32)
        self.outs = np.zeros((nchan, L), np.float32)
        self.pres = np.zeros((nchan, L), np.float32)
        self.pend = 0
        self.fpow = np.zeros((nchan, NFB), np.float32)  # far-end sub-block powers (ring)
        self.fidx = np.zeros(nchan, np.int32)
        self.acc = np.zeros((nchan, 4), np.float64)  # sub-block sums: far, rx, e, echo est
        self.hang = np.zeros(nchan, np.int32)
        self.dt = np.zeros(nchan, np.uint8)
        self.far_max = np.zeros(nchan, np.float32)
        self.erle = np.zeros(nchan, np.float32)  # smoothed ERLE, dB
        self.noise = np.full(nchan, _DBM0_MS * 1e-7, np.float32)  # background power
        self.supp = np.zeros(nchan, np.uint8)  # NLP suppressing in the current sub-block
        self.seed = np.arange(nchan, dtype=np.uint32) * np.uint32(2654435761) + np.uint32(seed)
        self.enabled = np.ones(nchan, np.uint8)
        self.nlp_on = np.ones(nchan, np.uint8)
        self.escale = np.full(nchan, _DBM0_MS, np.float32)  # usual residual power


def init(nchan: int) -> EchoState:
    return EchoState(nchan)


def reset(st: EchoState, chans=None) -> None:
    sel = slice(None) if chans is None else np.asarray(chans)
    st.W[sel] = 0.0
    st.X[sel] = 0.0
    st.xbuf[sel] = 0.0
    st.fpow[sel] = 0.0
    st.acc[sel] = 0.0
    st.hang[sel] = 0
    st.erle[sel] = 0.0
    st.escale[sel] = _DBM0_MS


def status(st: EchoState, c: int) -> dict:
    return {"enabled": bool(st.enabled[c]), "erle_db": float(st.erle[c]), "taps": (0, TAPS),
            "double_talk": bool(st.dt[c]), "nlp": bool(st.nlp_on[c])}


def process(st: EchoState, rx, ref, out, pre_nlp=None) -> int:
    """Cancel echo for all channels; ``pre_nlp`` (optional, like ``out``) gets the error."""
    if rx.shape != ref.shape or rx.shape != out.shape or rx.ndim != 2 or rx.shape[0] != st.nchan:
        raise ValueError("rx, ref and out must have the same (nchan, n) shape")
    keep = pre_nlp is not None
    pre = pre_nlp if keep else out
    n = rx.shape[1]
    if st.pend == 0 and n % L == 0:
        for b in range(0, n, L):
            _block(st, rx, ref, out, pre, b)
        return st.nchan
    # odd chunk lengths: re-block, output delayed by L samples
    i = 0
    while i < n:
        m = min(L - st.pend, n - i)
        s, d = slice(i, i + m), slice(st.pend, st.pend + m)
        st.rxs[:, d] = rx[:, s]
        st.refs[:, d] = ref[:, s]
        out[:, s] = st.outs[:, d]
        pre[:, s] = st.pres[:, d]
        st.pend += m
        i += m
        if st.pend == L:
            st.pend = 0
            _block(st, st.rxs, st.refs, st.outs, st.pres, 0)
    return st.nchan


def _block(st: EchoState, rx, ref, out, pre, b: int) -> None:
    """One block of L samples at column ``b`` of the chunk, all channels."""
    j = int(st.kblk[0] % P)
    _frame(ref, b, st.xbuf, st.enabled)
    xf = sfft.rfft(st.xbuf, axis=1)
    _filter(xf, st.X, st.W, st.gp, st.pw, st.Y, j, st.enabled)
    y = sfft.irfft(st.Y, n=N, axis=1)
    _error(rx, ref, b, y, out, pre, st.ef, st.muv, st.fpow, st.fidx, st.acc, st.hang, st.dt,
           st.far_max, st.erle, st.noise, st.supp, st.seed, st.enabled, st.nlp_on, st.escale)
    ef = sfft.rfft(st.ef, axis=1)
    _adapt(ef, st.X, st.W, st.gp, st.pw, st.muv, j, st.g)
    # gradient constraint on one partition per block (rotating): weights beyond L taps cleared
    w = sfft.irfft(st.W, n=N, axis=2)
    w[:, :, L:] = 0.0
    st.W[:] = sfft.rfft(w, axis=2)
    st.kblk[0] += 1


@njit(nogil=True, cache=True)
def _frame(ref, b, xbuf, enabled):
    nch = xbuf.shape[0]
    for c in range(nch):
        if not enabled[c]:
            continue
        for i in range(L):
            xbuf[c, i] = xbuf[c, L + i]
            xbuf[c, L + i] = ref[c, b + i]


@njit(nogil=True, cache=True, fastmath=True)
def _filter(xf, X, W, gp, pw, Y, j, enabled):
    """Store the new reference spectrum at ring slot j; Y = sum_p W_p X_{j-p}; pw = sum |X|²."""
    nch = X.shape[0]
    for c in range(nch):
        yc = Y[c]
        pc = pw[c]
        if not enabled[c]:
            continue
        xs = X[c, j]
        for k in range(K):
            xs[k] = xf[c, k]
            yc[k] = 0.0
            pc[k] = 0.0
        for p in range(P):
            q = j - p
            if q < 0:
                q += P
            wp = W[c, p]
            xq = X[c, q]
            gq = gp[c, p]
            for k in range(K):
                x = xq[k]
                yc[k] += wp[k] * x
                pc[k] += gq * (x.real * x.real + x.imag * x.imag)


@njit(nogil=True, cache=True, fastmath=True)
def _adapt(ef, X, W, gp, pw, muv, j, g):
    """W_p += 2 mu conj(X_{j-p}) E / (pw + delta) for the channels adapting this block."""
    nch = X.shape[0]
    for c in range(nch):
        mu = muv[c]
        if mu == 0.0:
            continue
        pc = pw[c]
        m = 0.0
        for k in range(K):
            m += pc[k]
        d = np.float32(DELTA + FLOOR * m / K)
        for k in range(K):
            g[k] = ef[c, k] * np.float32(2.0 * mu / (pc[k] + d))
        for p in range(P):
            q = j - p
            if q < 0:
                q += P
            wp = W[c, p]
            xq = X[c, q]
            gq = gp[c, p]
            nrm = np.float32(0.0)
            for k in range(K):
                w = wp[k] + gq * (xq[k].conjugate() * g[k])
                wp[k] = w
                nrm += w.real * w.real + w.imag * w.imag
            gp[c, p] = np.sqrt(nrm)
        # proportionate steps (IPNLMS over partitions): a hybrid's echo sits in one or two
        tot = np.float32(1e-6)
        for p in range(P):
            tot += gp[c, p]
        for p in range(P):
            gp[c, p] = np.float32((1.0 - ALPHA) / 2.0 + (1.0 + ALPHA) * P / 2.0 * gp[c, p] / tot)


@njit(nogil=True, cache=True, fastmath=True)
def _error(rx, ref, b, y, out, pre, ef, muv, fpow, fidx, acc, hang, dt, far_max, erle, noise, supp,
           seed, enabled, nlp_on, escale):
    nch = rx.shape[0]
    for c in range(nch):
        muv[c] = 0.0
        if not enabled[c]:
            for i in range(L):
                out[c, b + i] = rx[c, b + i]
                pre[c, b + i] = rx[c, b + i]
            continue
        fm = far_max[c]
        active = fm > FAR_ACTIVE
        converged = erle[c] > CONVERGED
        # double talk tests on the coming block, error of the current filter
        if active:
            for s in range(0, L, SB):
                pa = 0.0
                pe = 0.0
                for i in range(s, s + SB):
                    d = rx[c, b + i]
                    e = d - y[c, L + i]
                    pa += d * d
                    pe += e * e
                pa /= SB
                pe /= SB
                if pa > GEIGEL * fm or (converged and pa > 4.0 * noise[c] and pa > 0.001 * fm
                                        and pe > DT_ERR * pa):
                    hang[c] = DT_HANG
                    dt[c] = 1
        adapt = active and hang[c] == 0
        if not adapt and hang[c] > 0:
            hang[c] = max(0, hang[c] - L)
        lim = np.float32(ROBUST * np.sqrt(escale[c])) if converged else np.float32(1e30)
        for i in range(L):
            yi = y[c, L + i]
            d = rx[c, b + i]
            e = d - yi
            ea = min(max(e, -lim), lim)
            ef[c, i] = 0.0
            ef[c, L + i] = ea
        if adapt:
            muv[c] = MU_CONV if converged else MU
        for i in range(L):
            d = rx[c, b + i]
            yi = y[c, L + i]
            e = d - yi
            out[c, b + i] = e
            pre[c, b + i] = e
            xr = ref[c, b + i]
            acc[c, 0] += xr * xr
            acc[c, 1] += d * d
            acc[c, 2] += e * e
            acc[c, 3] += yi * yi
            if (i + 1) % SB == 0:
                _subblock(c, acc, fpow, fidx, hang, dt, far_max, erle, noise, supp, escale)
                if supp[c] and nlp_on[c]:
                    # NLP: this sub-block becomes comfort noise
                    a = np.float32(np.sqrt(12.0 * noise[c]))
                    for q in range(i + 1 - SB, i + 1):
                        sd = (np.int64(seed[c]) * 1664525 + 1013904223) & 0xFFFFFFFF
                        seed[c] = sd
                        out[c, b + q] = np.float32((sd >> 8) / 16777216.0 - 0.5) * a
    return nch


@njit(nogil=True, cache=True)
def _subblock(c, acc, fpow, fidx, hang, dt, far_max, erle, noise, supp, escale):
    pf = acc[c, 0] / SB
    pr = acc[c, 1] / SB
    pe = acc[c, 2] / SB
    py = acc[c, 3] / SB
    for k in range(4):
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
        r = 10.0 * np.log10((pr + 1e-3) / (pe + 1e-3))
        a = 0.1 if r > erle[c] else 0.005  # rises fast, falls over ~1 s (near end slipping by)
        erle[c] = np.float32((1.0 - a) * erle[c] + a * r)
    if active and not dt[c]:
        escale[c] = np.float32(0.95 * escale[c] + 0.05 * max(pe, 4.0 * noise[c]))
    elif not active:
        escale[c] = np.float32(max(escale[c], 4.0 * noise[c]))
    # background level (minimum tracking of the error): fast fall, slow rise (about 1 dB/s)
    if pe < noise[c]:
        noise[c] = np.float32(pe + 1e-3)
    else:
        noise[c] = np.float32(noise[c] * 1.0012)
    near = pr - py  # what the echo estimate leaves of the rx power: the near end's share
    supp[c] = 1 if active and (pe * 10.0 ** (NLP_DB / 10.0) < fm or (
        converged and (pe * NLP_RX < pr or near < 0.25 * pe))) else 0
