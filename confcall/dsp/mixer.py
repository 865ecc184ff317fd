"""Conference mixer: N-1 mixing, gains, mute/deaf, prompts and music over all channels.

What it does
------------
Mixes any number of conferences (2–60 members each, any channel may be in at most one) held in
one channel array: every member hears the sum of the *other* members (N-1), never itself, with a
per-member talk gain (what it contributes) and listen gain (what it hears); a muted member
contributes nothing, a deaf member hears nothing of the conference. On top of that:
per-channel prompt playout (heard only by that channel, in or out of a conference), per-
conference waiting music (heard by members whose ``hear_music`` flag is set, e.g. everyone
but the initiator while the initiator is inviting) and background music under the conversation
at a configurable level. Output saturates at the 16-bit range instead of wrapping. A level
meter keeps each channel's input power (``power``, mean square smoothed over about 100 ms) for
talker displays.

Conference levelling (per member, off unless ``level_on``; the engine's ``level_control``):
with N members the summed line noise rises by 10·log10(N - 1) dB and quiet and loud lines
would be mixed as they come. Each member's contribution gets

* an automatic gain, slow (at most 2.5 dB/s, only on ticks where the member talks) and
  bounded (-6 to +12 dB), towards a common speech level (``TARGET``, -18 dBm0; the member's
  speech level is the ~1 s average power of its talking ticks), so a member 12 dB quieter
  than the rest is heard within 3 dB of them;
* a noise gate: a tick 6 dB over the member's noise floor (minimum statistics: the quietest
  tick of the last 1-2 s) and above -55 dBm0 is talk and holds the gate open for 300 ms; shut,
  the contribution falls (1.5 dB a tick) to -15 dB shared among the conference's quiet
  members (-15 dB - 10·log10(q - 1) with q quiet members, counted on the last tick), so
  every listener hears about one quiet line's noise at -15 dB whatever the conference's
  size: the noise floor of an 8-member conference is no higher than a 3-member one's.

The gain actually applied to each member this tick (``eff``) is the one taken out of its own
N-1 output, so a member never hears itself through a gain change.

How it works
------------
Sounds (prompts, music) are registered once into one float32 *bank* (``Bank``); a playing
prompt is a (position, end) pair into it, music a (sound, offset) pair looped. Per tick: one
pass sums each conference's contributions into ``csum`` (rows zeroed on first use in the tick,
tracked by a tick stamp), one pass renders each conference's music into ``cmus`` once, one pass
writes each channel's ``listen * (csum - own) + music + prompt``, clipped, where ``own`` is
recomputed from the channel's input rather than stored. The per-channel kernels
(``contribute``, ``render_music``, ``output``) are what the media engine's fused tick calls.

How to use it
-------------
``st = init(nchan, block=160)``, ``bank = Bank()``; set the per-channel arrays (``conf``,
``talk``, ``listen``, ``mute``, ``deaf``, ``hear_music``) and per-conference arrays
(``wait_src``, ``bg_src``, ``bg_gain`` ...) between ticks (the engine does this from its command
queue); per tick ``n = mix(st, bank, x, out, done, done_id)`` with ``x`` the (delayed,
key-suppressed) float32 input and ``out`` the float32 output (``(nchan, n)``, any ``n`` up to
``block``); ``done``/``done_id`` (int32, nchan) receive the channels whose prompt finished and
the prompt ids, ``n`` of them.
"""
from __future__ import annotations

import numpy as np
from numba import njit

CLIP = 32767.0
_DBM0_MS = (32768.0 * 10.0 ** (-3.14 / 20.0)) ** 2 / 2.0  # mean square of a 0 dBm0 sine
TARGET = _DBM0_MS * 10.0 ** (-18.0 / 10.0)  # the speech level the automatic gain aims at
AGC_MIN = 10.0 ** (-6.0 / 20.0)  # its bounds: -6 dB ...
AGC_MAX = 10.0 ** (12.0 / 20.0)  # ... +12 dB
AGC_STEP = 10.0 ** (0.05 / 20.0)  # at most 0.05 dB per talking tick (2.5 dB/s): slow
SP_RATE = 0.02  # speech level: smoothing per talking tick (~1 s)
NF0 = _DBM0_MS * 10.0 ** (-70.0 / 10.0)  # first noise floor estimate
NF_TICKS = 50  # ticks (1 s) per block of the noise floor's minimum statistics
TALK_SNR = 4.0  # a tick 6 dB over the floor ...
TALK_MIN = _DBM0_MS * 10.0 ** (-55.0 / 10.0)  # ... and above -55 dBm0 is talk
HANG = 15  # ticks (300 ms) the gate stays open after talk
GATE_ATT = 10.0 ** (-15.0 / 20.0)  # a quiet member's contribution: -15 dB, shared (see doc)
GATE_FALL = 10.0 ** (-1.5 / 20.0)  # closing: 1.5 dB per tick (15 dB in 200 ms)


class Bank:
    """All registered sounds, concatenated (float32, 16-bit scale); ids are indexes."""

    def __init__(self) -> None:
        self.data = np.zeros(1, np.float32)
        self.off = np.zeros(0, np.int64)
        self.length = np.zeros(0, np.int64)

    def add(self, audio: np.ndarray) -> int:
        """Append one sound (int16 or float, 8 kHz linear); returns its id. Not for the tick."""
        a = np.asarray(audio).astype(np.float32).ravel()
        if a.size == 0:
            raise ValueError("empty sound")
        self.off = np.append(self.off, self.data.size)
        self.length = np.append(self.length, a.size)
        self.data = np.concatenate([self.data, a])
        return int(self.off.size - 1)


class MixerState:
    def __init__(self, nchan: int, block: int = 160):
        self.nchan = nchan
        self.block = block
        self.conf = np.full(nchan, -1, np.int32)
        self.talk = np.ones(nchan, np.float32)
        self.listen = np.ones(nchan, np.float32)
        self.mute = np.zeros(nchan, np.uint8)
        self.deaf = np.zeros(nchan, np.uint8)
        self.hear_music = np.ones(nchan, np.uint8)
        self.prompt_id = np.full(nchan, -1, np.int32)
        self.prompt_pos = np.zeros(nchan, np.int64)  # index into bank.data
        self.prompt_end = np.zeros(nchan, np.int64)
        self.prompt_gain = np.ones(nchan, np.float32)
        self.wait_src = np.full(nchan, -1, np.int32)  # per conference (ids < nchan)
        self.wait_pos = np.zeros(nchan, np.int64)
        self.wait_gain = np.ones(nchan, np.float32)
        self.bg_src = np.full(nchan, -1, np.int32)
        self.bg_pos = np.zeros(nchan, np.int64)
        self.bg_gain = np.full(nchan, 0.25, np.float32)
        self.stamp = np.full(nchan, -1, np.int64)  # tick at which csum row was zeroed
        self.mstamp = np.full(nchan, -1, np.int64)
        self.tick = np.zeros(1, np.int64)
        self.csum = np.zeros((nchan, block), np.float32)
        self.cmus = np.zeros((nchan, block), np.float32)
        self.power = np.zeros(nchan, np.float32)  # level meter: mean square, ~100 ms smoothing
        # conference levelling (off unless ``level_on``): automatic gain and noise gate
        self.level_on = np.zeros(nchan, np.uint8)
        self.agc = np.ones(nchan, np.float32)  # automatic gain (bounded, slow)
        self.gate = np.ones(nchan, np.float32)  # noise gate gain (1 while talking)
        self.nf = np.full(nchan, NF0, np.float32)  # line noise floor, mean square per tick
        # minimum statistics: the quietest tick of this second and of the last, tick count
        self.nmin = np.zeros((nchan, 3), np.float32)
        self.nmin[:, 1] = 3e38
        self.sp = np.full(nchan, TARGET, np.float32)  # speech level while talking
        self.hang = np.zeros(nchan, np.int32)  # ticks the gate stays open after talk
        self.eff = np.ones(nchan, np.float32)  # this tick's contribution gain, all included
        self.qn = np.zeros(nchan, np.int32)  # per conference: quiet members, this tick
        self.qprev = np.zeros(nchan, np.int32)  # ... and the last


def init(nchan: int, block: int = 160) -> MixerState:
    return MixerState(nchan, block)


def reset(st: MixerState, chans=None) -> None:
    sel = slice(None) if chans is None else np.asarray(chans)
    st.conf[sel] = -1
    st.talk[sel] = 1.0
    st.listen[sel] = 1.0
    st.mute[sel] = 0
    st.deaf[sel] = 0
    st.hear_music[sel] = 1
    st.prompt_id[sel] = -1
    st.level_on[sel] = 0
    st.agc[sel] = 1.0
    st.gate[sel] = 1.0
    st.nf[sel] = NF0
    st.nmin[sel, 0] = 0.0
    st.nmin[sel, 1] = 3e38
    st.nmin[sel, 2] = 0.0
    st.sp[sel] = TARGET
    st.hang[sel] = 0


def status(st: MixerState, c: int) -> dict:
    return {"conf": int(st.conf[c]), "talk": float(st.talk[c]), "listen": float(st.listen[c]),
            "mute": bool(st.mute[c]), "deaf": bool(st.deaf[c]),
            "prompt": int(st.prompt_id[c])}


def arrays(st: MixerState) -> tuple:
    """The state as one tuple for the kernels (numba unpacks it at compile time)."""
    return (st.conf, st.talk, st.listen, st.mute, st.deaf, st.hear_music, st.prompt_id,
            st.prompt_pos, st.prompt_end, st.prompt_gain, st.wait_src, st.wait_pos, st.wait_gain,
            st.bg_src, st.bg_pos, st.bg_gain, st.stamp, st.mstamp, st.tick, st.csum, st.cmus,
            st.power, st.level_on, st.agc, st.gate, st.nf, st.sp, st.hang, st.eff, st.qn,
            st.qprev, st.nmin)


def mix(st: MixerState, bank: Bank, x, out, done, done_id) -> int:
    return _mix(x, out, done, done_id, arrays(st), bank.data, bank.off, bank.length)


@njit(nogil=True, cache=True, _nrt=False)
def _loop(data, off, length, src, pos, gain, row, n, add):
    """Render n samples of looped sound ``src`` from offset ``pos`` into row; returns new pos.
    Copies run up to the loop point at a time (vectorised), not sample by sample."""
    o = off[src]
    ln = length[src]
    p = pos % ln
    i = 0
    while i < n:
        m = min(n - i, ln - p)
        s = data[o + p : o + p + m]
        d = row[i : i + m]
        if add:
            for k in range(m):
                d[k] += s[k] * gain
        else:
            for k in range(m):
                d[k] = s[k] * gain
        i += m
        p += m
        if p == ln:
            p = 0
    return p


@njit(nogil=True, cache=True, _nrt=False, fastmath=True, inline="always")
def contribute(c, x, M):
    """Channel ``c``'s input ``x`` (1-D, delayed and key-suppressed) into the level meter and
    its conference's sum (the row zeroed on first use in the tick)."""
    (conf, talk, listen, mute, deaf, hear_music, prompt_id, prompt_pos, prompt_end, prompt_gain,
     wait_src, wait_pos, wait_gain, bg_src, bg_pos, bg_gain, stamp, mstamp, tick, csum, cmus,
     power, lv_on, agc, gate, nf, sp, hang, eff, qn, qprev, nmin) = M
    n = x.shape[0]
    ms = np.float32(0.0)
    k = conf[c]
    if k >= 0:
        cs = csum[k, :n]
        if stamp[k] != tick[0]:  # first member this tick: the row starts from zero
            stamp[k] = tick[0]
            for i in range(n):
                cs[i] = 0.0
            qprev[k] = qn[k]
            qn[k] = 0
        for i in range(n):
            ms += x[i] * x[i]
        ms /= n
        g = np.float32(0.0) if mute[c] else talk[c]
        if lv_on[c]:
            g *= _levelling(c, k, ms, agc, gate, nf, sp, hang, qn, qprev, nmin)
        eff[c] = g
        for i in range(n):
            cs[i] += x[i] * g
    else:
        for i in range(n):
            ms += x[i] * x[i]
        ms /= n
    power[c] += np.float32(0.2) * (ms - power[c])


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def _levelling(c, k, ms, agc, gate, nf, sp, hang, qn, qprev, nmin):
    """Member ``c``'s automatic gain x noise gate for this tick (``ms``: its input's mean
    square this tick), counting it in its conference's quiet members if the gate is shut."""
    # noise floor: the quietest tick of the last 1-2 s (minimum statistics: talk has pauses)
    if nmin[c, 2] == 0:
        nmin[c, 1] = nmin[c, 0]
        nmin[c, 0] = ms
    else:
        nmin[c, 0] = min(nmin[c, 0], np.float32(ms))
    nmin[c, 2] = nmin[c, 2] + 1 if nmin[c, 2] < NF_TICKS - 1 else 0
    nf[c] = max(min(nmin[c, 0], nmin[c, 1]), np.float32(NF0 * 0.01))
    if ms > TALK_SNR * nf[c] and ms > TALK_MIN:
        hang[c] = HANG
        # speech level and a slow, bounded gain towards the target
        sp[c] += np.float32(SP_RATE) * (ms - sp[c])
        want = min(max(np.sqrt(TARGET / max(sp[c], np.float32(1.0))), AGC_MIN), AGC_MAX)
        agc[c] = min(max(want, agc[c] / np.float32(AGC_STEP)), agc[c] * np.float32(AGC_STEP))
    elif hang[c] > 0:
        hang[c] -= 1
    if hang[c] > 0:
        gate[c] = 1.0
    else:
        # the quiet members of a conference share one quiet member's noise at -15 dB: with
        # q of them every listener hears about q - 1, each 1/(q - 1) of that
        q = max(qprev[k] - 1, 1)
        gate[c] = max(gate[c] * np.float32(GATE_FALL), np.float32(GATE_ATT / np.sqrt(q)))
        qn[k] += 1
    return agc[c] * gate[c]


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def render_music(n, M, data, off, length):
    """Each conference in use gets its music (waiting + background) for this tick, once."""
    (conf, talk, listen, mute, deaf, hear_music, prompt_id, prompt_pos, prompt_end, prompt_gain,
     wait_src, wait_pos, wait_gain, bg_src, bg_pos, bg_gain, stamp, mstamp, tick, csum, cmus,
     power, lv_on, agc, gate, nf, sp, hang, eff, qn, qprev, nmin) = M
    t = tick[0]
    for c in range(conf.shape[0]):
        k = conf[c]
        if k < 0 or mstamp[k] == t:
            continue
        mstamp[k] = t
        row = cmus[k, :n]
        for i in range(n):
            row[i] = 0.0
        if wait_src[k] >= 0:
            wait_pos[k] = _loop(data, off, length, wait_src[k], wait_pos[k], wait_gain[k], row,
                                n, True)
        if bg_src[k] >= 0:
            bg_pos[k] = _loop(data, off, length, bg_src[k], bg_pos[k], bg_gain[k], row, n, True)


@njit(nogil=True, cache=True, _nrt=False, fastmath=True, inline="always")
def output(c, x, out, M, data, done, done_id, ndone):
    """Channel ``c``'s output: listen × (its conference's sum - its own contribution, the
    latter recomputed from its input ``x``) + music + its prompt, saturated. Returns ``ndone``
    plus one if its prompt ended (recorded in ``done``/``done_id``)."""
    (conf, talk, listen, mute, deaf, hear_music, prompt_id, prompt_pos, prompt_end, prompt_gain,
     wait_src, wait_pos, wait_gain, bg_src, bg_pos, bg_gain, stamp, mstamp, tick, csum, cmus,
     power, lv_on, agc, gate, nf, sp, hang, eff, qn, qprev, nmin) = M
    n = out.shape[0]
    k = conf[c]
    if k >= 0 and not deaf[c]:
        lg = listen[c]
        g = eff[c]  # as contributed this tick
        cs = csum[k, :n]
        if hear_music[c]:
            cm = cmus[k, :n]
            for i in range(n):
                out[i] = (cs[i] - x[i] * g) * lg + cm[i]
        else:
            for i in range(n):
                out[i] = (cs[i] - x[i] * g) * lg
    elif k >= 0 and hear_music[c]:
        cm = cmus[k, :n]
        for i in range(n):
            out[i] = cm[i]
    else:
        for i in range(n):
            out[i] = 0.0
    if prompt_id[c] >= 0:
        p = prompt_pos[c]
        e = prompt_end[c]
        g = prompt_gain[c]
        m = min(n, e - p)
        src = data[p : p + m]
        for i in range(m):
            out[i] += src[i] * g
        p += m
        prompt_pos[c] = p
        if p >= e:
            done[ndone] = c
            done_id[ndone] = prompt_id[c]
            prompt_id[c] = -1
            ndone += 1
    for i in range(n):
        out[i] = min(max(out[i], np.float32(-CLIP - 1.0)), np.float32(CLIP))
    return ndone


@njit(nogil=True, cache=True, _nrt=False, inline="always")
def end_tick(M):
    """After every channel's ``output``: the next tick re-zeroes the conference sums."""
    tick = M[18]
    tick[0] += 1


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def _mix(x, out, done, done_id, M, data, off, length):
    nch, n = x.shape
    for c in range(nch):
        contribute(c, x[c], M)
    render_music(n, M, data, off, length)
    ndone = 0
    for c in range(nch):
        ndone = output(c, x[c], out[c], M, data, done, done_id, ndone)
    end_tick(M)
    return ndone
