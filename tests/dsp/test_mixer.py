"""Conference mixer: N-1, many conferences in one array, gains, mute/deaf, saturation, prompts,
waiting and background music."""
from __future__ import annotations

import numpy as np

from confcall.dsp import mixer

N = 160
RNG = np.random.default_rng(60)


def _run(st, bank, x, ticks=1):
    out = np.zeros_like(x)
    done = np.zeros(x.shape[0], np.int32)
    did = np.zeros(x.shape[0], np.int32)
    finished = []
    for _ in range(ticks):
        k = mixer.mix(st, bank, x, out, done, did)
        finished += [(int(done[j]), int(did[j])) for j in range(k)]
    return out, finished


# 1. N-1: every member hears the sum of the others, never itself
def test_01_n_minus_1():
    st, bank = mixer.init(5), mixer.Bank()
    st.conf[:] = 0
    x = RNG.normal(0, 1000, (5, N)).astype(np.float32)
    out, _ = _run(st, bank, x)
    for c in range(5):
        np.testing.assert_allclose(out[c], x.sum(axis=0) - x[c], rtol=0, atol=0.05)


# 2. conferences of 2, 3 and 60 members (plus idle channels) in one array stay separate
def test_02_many_conferences_isolated():
    nch = 70
    st, bank = mixer.init(nch), mixer.Bank()
    groups = {7: list(range(2)), 3: list(range(2, 5)), 40: list(range(5, 65))}
    for k, members in groups.items():
        st.conf[members] = k
    x = RNG.normal(0, 300, (nch, N)).astype(np.float32)
    out, _ = _run(st, bank, x)
    for members in groups.values():
        tot = x[members].sum(axis=0)
        for c in members:
            np.testing.assert_allclose(out[c], tot - x[c], atol=0.2)
    assert not out[65:].any()


# 3. talk and listen gains, mute (contributes nothing), deaf (hears nothing)
def test_03_gains_mute_deaf():
    st, bank = mixer.init(4), mixer.Bank()
    st.conf[:] = 2
    st.talk[0] = 0.5
    st.listen[1] = 2.0
    st.mute[2] = 1
    st.deaf[3] = 1
    x = np.ones((4, N), np.float32) * np.array([[100], [200], [400], [800]], np.float32)
    out, _ = _run(st, bank, x)
    assert np.allclose(out[0], 200 + 800)
    assert np.allclose(out[1], 2.0 * (50 + 800))
    assert np.allclose(out[2], 50 + 200 + 800)  # a muted member still hears
    assert not out[3].any()


# 4. saturation: loud members clip at the 16-bit limits, never wrap
def test_04_saturation():
    st, bank = mixer.init(8), mixer.Bank()
    st.conf[:] = 1
    x = np.full((8, N), 30000.0, np.float32)
    x[:, ::2] = -30000.0
    out, _ = _run(st, bank, x)
    assert np.all(out[:, 1::2] == 32767.0) and np.all(out[:, ::2] == -32768.0)


# 5. a prompt reaches its target only, in or out of a conference, and reports its end
def test_05_prompt_to_one_member():
    st, bank = mixer.init(4), mixer.Bank()
    pid = bank.add(np.arange(1, 401, dtype=np.int16))
    st.conf[:3] = 0
    st.prompt_id[1] = pid
    st.prompt_pos[1] = bank.off[pid]
    st.prompt_end[1] = bank.off[pid] + bank.length[pid]
    st.prompt_id[3] = pid  # a channel in no conference
    st.prompt_pos[3] = bank.off[pid]
    st.prompt_end[3] = bank.off[pid] + bank.length[pid]
    x = np.zeros((4, N), np.float32)
    heard, finished = [], []
    for _ in range(3):
        out, f = _run(st, bank, x)
        heard.append(out.copy())
        finished += f
    heard = np.concatenate(heard, axis=1)
    np.testing.assert_array_equal(heard[1, :400], np.arange(1, 401))
    np.testing.assert_array_equal(heard[3, :400], np.arange(1, 401))
    assert not heard[1, 400:].any() and not heard[0].any() and not heard[2].any()
    assert sorted(finished) == [(1, pid), (3, pid)]


# 6. waiting music reaches members that hear music (not the initiator), looping
def test_06_waiting_music():
    st, bank = mixer.init(3), mixer.Bank()
    music = (1000 * np.sin(np.arange(250) * 0.3)).astype(np.int16)
    mid = bank.add(music)
    st.conf[:] = 2
    st.hear_music[0] = 0  # the initiator, inviting
    st.wait_src[2] = mid
    x = np.zeros((3, N), np.float32)
    outs = np.concatenate([_run(st, bank, x)[0] for _ in range(3)], axis=1)
    want = np.tile(music, 2)[:480].astype(np.float32)
    np.testing.assert_array_equal(outs[1], want)
    np.testing.assert_array_equal(outs[2], want)
    assert not outs[0].any()


# 7. background music under the conversation at the configured level
def test_07_background_music_level():
    st, bank = mixer.init(2), mixer.Bank()
    mid = bank.add(np.full(800, 10000, np.int16))
    st.conf[:] = 0
    st.bg_src[0] = mid
    st.bg_gain[0] = 10 ** (-20 / 20)
    x = np.zeros((2, N), np.float32)
    x[0] = 3000.0
    out, _ = _run(st, bank, x)
    np.testing.assert_allclose(out[1], 3000.0 + 1000.0, rtol=1e-5)
    np.testing.assert_allclose(out[0], 1000.0, rtol=1e-5)


# 8. level meter: a -20 dBm0 sine reads -20 dBm0 after ~100 ms, silence reads nothing
def test_08_level_meter():
    from confcall.dsp import dtmf

    st, bank = mixer.init(2), mixer.Bank()
    t = np.arange(N) / 8000
    x = np.zeros((2, N), np.float32)
    x[0] = dtmf.dbm0_amplitude(-20.0) * np.sin(2 * np.pi * 1000 * t)
    _run(st, bank, x, ticks=25)
    db = 10 * np.log10(st.power[0] / (dtmf.DBM0_PEAK**2 / 2))
    assert abs(db + 20.0) < 0.1 and st.power[1] == 0.0
