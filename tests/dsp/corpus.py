"""Speech and music made by the test set-up (espeak-ng, sox), cached under .cache/dsp_corpus/.

Nothing here is committed audio: the first run synthesises ~24 minutes of Mandarin and English
speech with several voices (male, female, high-pitched) and ~8 minutes of synthetic music
(plucked melodies and chords from sox), stores them as 8 kHz float32 ``.npy`` files in the
gitignored cache, and later runs load them.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from confcall.dsp import dtmf

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "dsp_corpus"

EN = [
    "The conference will begin when the initiator joins the call.",
    "Please enter the number you wish to call, followed by the hash key.",
    "We were talking about the weather in Beijing and the price of tickets last week.",
    "She said that the meeting had been moved to Thursday afternoon at three o'clock.",
    "Could you repeat the last figure? I think the line dropped for a moment.",
    "Seven hundred and forty two thousand, nine hundred and sixty one.",
    "Yes, yes, I can hear you now, go ahead please.",
    "The quarterly report shows an increase in sales across all regions.",
    "Hello? Hello? Is anybody there? I am waiting for the others to join.",
    "My flight lands at nine fifteen, so I will call you from the airport.",
    "Oh really? That is wonderful news, congratulations to the whole team!",
    "Let us schedule another call for Monday morning, if that suits everyone.",
    "Whoa, eeeh, hmmm, aaah, ooooh, mmmm, yeeees, nooooo.",
]
ZH = [
    "会议将在发起人加入后开始。",
    "请输入您要拨打的号码，然后按井号键。",
    "我们上个星期在北京谈到了天气和机票的价格。",
    "她说会议改到星期四下午三点了。",
    "你能再说一遍最后那个数字吗？刚才线路好像断了一下。",
    "七十四万两千九百六十一。",
    "喂，喂，现在能听到了，请说吧。",
    "季度报告显示所有地区的销售额都有增长。",
    "有人在吗？我在等其他人加入。",
    "我的航班九点十五分到，我会从机场给你打电话。",
    "真的吗？太好了，恭喜整个团队！",
    "我们下星期一早上再开一次电话会议吧，大家觉得怎么样？",
    "啊，嗯，哦，好的好的，没问题，谢谢你。",
]
# (voice, pitch 0-99, words per minute, language)
VOICES = [
    ("en-us", 50, 160, "en"), ("en-us+f3", 70, 170, "en"), ("en-gb+f4", 90, 150, "en"),
    ("en-us+m3", 30, 180, "en"), ("en-gb-x-rp+f2", 99, 165, "en"), ("en-us+f5", 85, 140, "en"),
    ("cmn", 50, 160, "zh"), ("cmn+f3", 75, 170, "zh"), ("cmn+f4", 95, 150, "zh"),
    ("cmn+m3", 35, 180, "zh"), ("cmn+f2", 99, 140, "zh"), ("cmn+f5", 85, 165, "zh"),
]
SPEECH_SECONDS = 120.0  # per voice
MUSIC_PIECES = 8  # of about a minute each
LEVEL_DBM0 = -12.0  # long-term level of each file


def _norm(x: np.ndarray) -> np.ndarray:
    active = np.abs(x) > 0.01 * np.max(np.abs(x))
    rms = np.sqrt(np.mean(x[active] ** 2)) if active.any() else 1.0
    return (x / rms * dtmf.DBM0_PEAK / np.sqrt(2) * 10 ** (LEVEL_DBM0 / 20)).astype(np.float32)


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float64)
        if w.getnchannels() > 1:
            x = x.reshape(-1, w.getnchannels()).mean(axis=1)
    if rate != 8000:
        g = np.gcd(rate, 8000)
        x = resample_poly(x, 8000 // g, rate // g)
    return x


def _speech(voice: str, pitch: int, wpm: int, lang: str, seed: int, tmp: Path) -> np.ndarray:
    rng = np.random.default_rng(seed)
    src = EN if lang == "en" else ZH
    parts, total = [], 0.0
    while total < SPEECH_SECONDS * 8000:
        text = " ".join(rng.choice(src, 8))
        out = tmp / f"s{seed}_{len(parts)}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(wpm), "-w",
                        str(out), text], check=True, capture_output=True)
        x = _read_wav(out)
        parts.append(x)
        total += x.size
    return _norm(np.concatenate(parts)[: int(SPEECH_SECONDS * 8000)])


def _music(seed: int, tmp: Path) -> np.ndarray:
    rng = np.random.default_rng(seed)
    notes = ["C", "D", "E", "F", "G", "A", "B"]
    files = []
    for k in range(40):  # 40 bars of ~1.5 s
        octv = int(rng.integers(3, 6))
        chord = [f"{notes[int(i) % 7]}{octv + int(i) // 7}" for i in rng.choice(10, 3, False)]
        dur = float(rng.choice([0.25, 0.5, 0.75]))
        melody = [f"{notes[int(rng.integers(0, 7))]}{octv + 1}" for _ in range(int(1.5 / dur))]
        bar = tmp / f"m{seed}_{k}.wav"
        mel = []
        for j, note in enumerate(melody):
            f = tmp / f"m{seed}_{k}_{j}.wav"
            synth = ["synth", str(dur), "pluck", note]
            for cn in chord:
                synth += ["pluck", cn]
            subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "1", str(f)] + synth
                           + ["remix", "-", "gain", "-n", "-3"], check=True, capture_output=True)
            mel.append(str(f))
        subprocess.run(["sox"] + mel + [str(bar)], check=True, capture_output=True)
        files.append(_read_wav(bar))
    return _norm(np.concatenate(files))


def available() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def load() -> dict:
    """{name: float32 8 kHz audio}, synthesised on first use."""
    CACHE.mkdir(parents=True, exist_ok=True)
    want = {f"speech_{i:02d}_{v[0]}_{v[1]}": ("speech", i, v) for i, v in enumerate(VOICES)}
    want.update({f"music_{i:02d}": ("music", i, None) for i in range(MUSIC_PIECES)})
    out = {}
    with tempfile.TemporaryDirectory() as td:
        for name, (kind, i, v) in want.items():
            f = CACHE / f"{name}.npy"
            if not f.exists():
                x = _speech(*v, seed=100 + i, tmp=Path(td)) if kind == "speech" \
                    else _music(200 + i, Path(td))
                np.save(f.with_suffix(".tmp.npy"), x)
                f.with_suffix(".tmp.npy").rename(f)
            out[name] = np.load(f)
    return out
