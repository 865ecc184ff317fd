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


def status(st: MixerState, c: int) -> dict:
    return {"conf": int(st.conf[c]), "talk": float(st.talk[c]), "listen": float(st.listen[c]),
            "mute": bool(st.mute[c]), "deaf": bool(st.deaf[c]),
            "prompt": int(st.prompt_id[c])}


def arrays(st: MixerState) -> tuple:
    """The state as one tuple for the kernels (numba unpacks it at compile time)."""
    return (st.conf, st.talk, st.listen, st.mute, st.deaf, st.hear_music, st.prompt_id,
            st.prompt_pos, st.prompt_end, st.prompt_gain, st.wait_src, st.wait_pos, st.wait_gain,
            st.bg_src, st.bg_pos, st.bg_gain, st.stamp, st.mstamp, st.tick, st.csum, st.cmus,
            st.power)


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
     power) = M
    n = x.shape[0]
    ms = np.float32(0.0)
    k = conf[c]
    if k >= 0:
        cs = csum[k, :n]
        if stamp[k] != tick[0]:  # first member this tick: the row starts from zero
            stamp[k] = tick[0]
            for i in range(n):
                cs[i] = 0.0
        g = np.float32(0.0) if mute[c] else talk[c]
        for i in range(n):  # one pass: level meter and contribution
            v = x[i]
            ms += v * v
            cs[i] += v * g
    else:
        for i in range(n):
            ms += x[i] * x[i]
    power[c] += np.float32(0.2) * (ms / n - power[c])


@njit(nogil=True, cache=True, _nrt=False, fastmath=True)
def render_music(n, M, data, off, length):
    """Each conference in use gets its music (waiting + background) for this tick, once."""
    (conf, talk, listen, mute, deaf, hear_music, prompt_id, prompt_pos, prompt_end, prompt_gain,
     wait_src, wait_pos, wait_gain, bg_src, bg_pos, bg_gain, stamp, mstamp, tick, csum, cmus,
     power) = M
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
     power) = M
    n = out.shape[0]
    k = conf[c]
    if k >= 0 and not deaf[c]:
        lg = listen[c]
        g = np.float32(0.0) if mute[c] else talk[c]
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
