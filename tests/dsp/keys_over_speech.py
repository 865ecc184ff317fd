"""Keys pressed over loud speech (issue 19 item 3), measured on the real media engine.

Each of the corpus' 12 voices (Mandarin and English, ``corpus.load``) talks at -16 dBm0 on one
member of a 2-member conference and presses keys over its own speech every 0.5 s (-10 dBm0 per
tone, 60-120 ms, random digit and phases); the other member listens. ``measure`` returns the
share of presses detected (a start event of the right digit), the extra digits, each press's
leak (ms of the key's samples the listener hears as sent: the counts of a signal, not wall
time) and the false mutes per minute of the same speech without keys. ``bench/dsp.py`` prints
these figures; ``test_keysuppress.py`` asserts the goals.
"""
from __future__ import annotations

import numpy as np

from confcall.dsp import BLOCK, MediaEngine, dtmf, g711, keysuppress

from . import corpus


def measure(presses: int = 300, rng=None) -> dict:
    """Issue 19 item 3 on the real engine: keys at -10 dBm0 per tone (60-120 ms, random digit
    and phases) pressed over the same line's speech at -16 dBm0 (the test corpus, 12 voices),
    a silent listener in each 2-member conference. Detected share, extra digits, the leak
    (ms of tone the listener hears unmuted, per press) and the false mutes per minute of the
    same speech without keys."""
    rng = np.random.default_rng(1) if rng is None else rng
    named = [(k, a) for k, a in sorted(corpus.load().items()) if k.startswith("speech")]
    speech = [a for _k, a in named]
    zh = np.array(["cmn" in k for k, _a in named])
    look = keysuppress.LOOKAHEAD
    per = max(1, presses // len(speech))
    sigs, where = [], []
    for sp in speech:
        s = sp[: per * 4000 + 8000].astype(np.float64) * 10 ** (-4 / 20)  # corpus -12 -> -16
        ps = []
        for j in range(per):
            d = dtmf.DIGITS[int(rng.integers(16))]
            on = int(rng.uniform(60, 120) * 8)
            i = dtmf.DIGITS.index(d)
            a = 4000 * (j + 1)
            s[a : a + on] += dtmf.tones(dtmf.ROW_HZ[i // 4], dtmf.COL_HZ[i % 4], on, -10, -10,
                                        tuple(rng.uniform(0, 2 * np.pi, 2)))
            ps.append((d, a, a + on))
        sigs.append(s)
        where.append(ps)

    def run(signals):
        n = min(x.size for x in signals) // BLOCK * BLOCK
        got: list = []
        eng = MediaEngine(2 * len(signals), g711.LAW_ALAW, echo_cancel=False,
                          on_event=got.append)
        codes = np.full((2 * len(signals), n), 0xD5, np.uint8)
        for k, x in enumerate(signals):
            eng.join(2 * k, k)
            eng.join(2 * k + 1, k)
            codes[2 * k] = g711.alaw_encode(np.clip(np.round(x[:n]), -32768, 32767)
                                            .astype(np.int16))
        out = np.zeros_like(codes)
        tx = np.zeros((2 * len(signals), BLOCK), np.uint8)
        for i in range(0, n, BLOCK):
            eng.process_tick(np.ascontiguousarray(codes[:, i : i + BLOCK]), tx)
            out[:, i : i + BLOCK] = tx
        return eng, got, g711.alaw_decode(codes).astype(float), g711.alaw_decode(out).astype(float)

    _eng, got, sent, heard = run(sigs)
    det = extra = 0
    leaks = []
    for k, ps in enumerate(where):
        starts = [(e.digit, e.sample) for e in got if e.chan == 2 * k and e.start]
        ok = [any(d == g and a - 400 <= t <= b for g, t in starts) for d, a, b in ps]
        det += sum(ok)
        extra += len(starts) - sum(ok)
        for _d, a, b in ps:
            # a sample leaks if the listener hears it as sent (a muted one is A-law's idle,
            # ±8: where the sent sample is as small it tells nothing and is not counted)
            h, x = heard[2 * k + 1, a + look : b + look], sent[2 * k, a:b]
            leaks.append(np.count_nonzero((np.abs(h - x) <= 16) & (np.abs(x) > 24)) / 8.0)
    eng2, _got, _s, _h = run([sp.astype(np.float64) * 10 ** (-4 / 20) for sp in speech])
    minutes = len(speech) * (min(sp.size for sp in speech) // BLOCK * BLOCK) / 8000 / 60
    return {"presses": len(leaks), "detected": det / len(leaks), "extra": extra,
            "leak_p50": float(np.percentile(leaks, 50)), "leaky": int(np.count_nonzero(leaks)),
            "leak_p95": float(np.percentile(leaks, 95)), "leak_max": float(np.max(leaks)),
            "false_mutes_per_min": int(eng2.ks.episodes.sum()) / minutes,
            "false_mutes_per_min_zh": int(eng2.ks.episodes[0::2][zh].sum()) / minutes
            * len(speech) / max(1, int(zh.sum())),
            "false_mutes_per_min_en": int(eng2.ks.episodes[0::2][~zh].sum()) / minutes
            * len(speech) / max(1, int((~zh).sum())),
            "leaks": leaks, "minutes": minutes}
