"""Speech and music made by the test set-up (espeak-ng, sox), cached under .cache/dsp_corpus/.

Nothing here is committed audio: the first run synthesises ~24 minutes of Mandarin and English
speech with several voices (male, female, high-pitched) and ~8 minutes of synthetic music
(plucked melodies and chords from sox), stores them as 8 kHz float32 ``.npy`` files in the
gitignored cache, and later runs load them (``load``).

``load_wide`` adds a broader talk-off corpus (.cache/dsp_corpus_wide/, int16 files, ~2 h 20
min; about 3 minutes of CPU to make): 72 espeak-ng voice variants (19 languages, 24 variants
from the ``!v`` set: klatt, croak, whisper, named voices) at pitches 0-99 and 80-220 words a
minute, chant-like "sung" lines (long vowels, slow, high pitch), and sox music beyond the
plucks of ``load``: sustained chords of sawtooth, triangle and trapezium voices with pluck
melodies, arpeggios and pitch sweeps. Voices, texts and instruments are drawn from seeded
generators, so the corpus is the same on every machine.
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


# ------------------------------------------------------------------ the wide talk-off corpus

WIDE_CACHE = CACHE.parent / "dsp_corpus_wide"
WIDE_LANGS = [("en-us", "en"), ("en-gb", "en"), ("en-gb-scotland", "en"), ("cmn", "zh"),
              ("yue", "zh"), ("es", "en"), ("fr-fr", "en"), ("de", "en"), ("it", "en"),
              ("pt-br", "en"), ("id", "en"), ("sw", "en"), ("tr", "en"), ("vi", "zh_latn"),
              ("ru", "ru"), ("ja", "ja"), ("ko", "ko"), ("hi", "hi"), ("ar", "ar")]
WIDE_VARIANTS = ["", "f1", "f2", "f3", "f4", "f5", "m1", "m2", "m3", "m4", "m5", "m6", "m7",
                 "klatt", "klatt2", "klatt4", "croak", "whisper", "Annie", "Alicia", "Andy",
                 "belinda", "linda", "Tweaky"]
OTHER_TEXTS = {
    "ru": ["Здравствуйте, конференция начнётся, когда организатор присоединится.",
           "Мы говорили о погоде в Москве и о ценах на билеты на прошлой неделе.",
           "Повторите, пожалуйста, последнюю цифру, связь на секунду пропала."],
    "ja": ["会議は主催者が参加すると始まります。",
           "先週、東京の天気と切符の値段について話しました。",
           "最後の数字をもう一度言っていただけますか。"],
    "ko": ["회의는 주최자가 참여하면 시작됩니다.",
           "지난주에 서울 날씨와 표 가격에 대해 이야기했습니다.",
           "마지막 숫자를 다시 말씀해 주시겠어요?"],
    "hi": ["जब आयोजक कॉल में शामिल होंगे तब सम्मेलन शुरू होगा।",
           "हमने पिछले सप्ताह दिल्ली के मौसम और टिकट की कीमतों के बारे में बात की।"],
    "ar": ["سيبدأ المؤتمر عندما ينضم المنظم إلى المكالمة.",
           "تحدثنا الأسبوع الماضي عن الطقس في القاهرة وأسعار التذاكر."],
    "zh_latn": ["Xin chào, cuộc họp sẽ bắt đầu khi người tổ chức tham gia.",
                "Chúng tôi đã nói về thời tiết ở Hà Nội và giá vé tuần trước."],
}
SUNG = ["laaa laaa laaa, laa laa laaaa", "oooh oooh, aaah, oooooh", "na na na naaa, na na naaa",
        "miii miii miii, maaa maaa", "heeey yeeeah, ooh yeeeah"]
WIDE_SPEECH_SECONDS = 100.0  # per voice: 72 voices, 2 h
WIDE_MUSIC_PIECES = 16  # of about 90 s each


def _wide_voices() -> list:
    """(voice, pitch, wpm, text set, sung) for 72 voices, from a seeded generator."""
    rng = np.random.default_rng(1919)
    out = []
    for i in range(72):
        lang, texts = WIDE_LANGS[i % len(WIDE_LANGS)]
        var = WIDE_VARIANTS[int(rng.integers(len(WIDE_VARIANTS)))]
        voice = f"{lang}+{var}" if var else lang
        pitch = int(rng.integers(0, 100)) if i % 3 else int(rng.integers(75, 100))
        out.append((voice, pitch, int(rng.integers(80, 221)), texts, i % 8 == 7))
    return out


def _wide_speech(voice: str, pitch: int, wpm: int, texts: str, sung: bool, seed: int,
                 tmp: Path) -> np.ndarray:
    rng = np.random.default_rng(seed)
    src = {"en": EN, "zh": ZH}.get(texts) or OTHER_TEXTS[texts]
    parts, total = [], 0.0
    while total < WIDE_SPEECH_SECONDS * 8000:
        if sung and rng.random() < 0.6:  # chant: long vowels, slow, high
            text, p, s = str(rng.choice(SUNG)), min(99, pitch + 30), 80
        else:
            text, p, s = " ".join(rng.choice(src, 6)), pitch, wpm
        out = tmp / f"w{seed}_{len(parts)}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(p), "-s", str(s), "-w", str(out),
                        text], check=True, capture_output=True)
        x = _read_wav(out)
        out.unlink()
        parts.append(x)
        total += x.size
    return _norm(np.concatenate(parts)[: int(WIDE_SPEECH_SECONDS * 8000)])


def _wide_music(seed: int, tmp: Path) -> np.ndarray:
    """Sustained chords (sawtooth/triangle/trapezium) under pluck melodies, arpeggios, sweeps."""
    rng = np.random.default_rng(seed)
    notes = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    kinds = ["sawtooth", "triangle", "trapezium"]
    bars = []
    for k in range(45):  # bars of 2 s
        octv = int(rng.integers(3, 6))
        chord = [f"{notes[int(i) % 12]}{octv + int(i) // 12}"
                 for i in rng.choice(20, int(rng.integers(2, 5)), False)]
        kind = kinds[int(rng.integers(len(kinds)))]
        f = tmp / f"wm{seed}_{k}.wav"
        style = k % 3
        if style == 0:  # sustained chord + melody on top
            synth = ["synth", "2.0"] + [a for n in chord for a in (kind, n)]
            mel = [f"{notes[int(rng.integers(12))]}{octv + 1}" for _ in range(4)]
            subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "1", str(f)] + synth
                           + ["remix", "-", "gain", "-n", "-6"], check=True, capture_output=True)
            g = tmp / f"wm{seed}_{k}_m.wav"
            subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "1", str(g), "synth",
                            "0.5", "pluck", mel[0], "pluck", mel[1], "remix", "-", "repeat", "3",
                            "gain", "-n", "-6"], check=True, capture_output=True)
            h = tmp / f"wm{seed}_{k}_x.wav"
            subprocess.run(["sox", "-m", str(f), str(g), str(h)], check=True, capture_output=True)
            f = h
        elif style == 1:  # arpeggio
            seq = [tmp / f"wm{seed}_{k}_{j}.wav" for j in range(8)]
            for j, q in enumerate(seq):
                subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "1", str(q),
                                "synth", "0.25", kind, chord[j % len(chord)], "gain", "-n",
                                "-3"], check=True, capture_output=True)
            subprocess.run(["sox"] + [str(q) for q in seq] + [str(f)], check=True,
                           capture_output=True)
        else:  # a sweep between two chord notes over a held bass
            subprocess.run(["sox", "-n", "-r", "8000", "-b", "16", "-c", "1", str(f), "synth",
                            "2.0", kind, f"{chord[0]}-{chord[-1]}", "pluck", f"{notes[0]}2",
                            "remix", "-", "gain", "-n", "-6"], check=True, capture_output=True)
        bars.append(_read_wav(f))
    return _norm(np.concatenate(bars))


def load_wide() -> dict:
    """{name: float32 8 kHz audio} of the wide corpus, synthesised on first use (int16 files)."""
    WIDE_CACHE.mkdir(parents=True, exist_ok=True)
    want = {f"wspeech_{i:02d}_{v[0]}_{v[1]}": ("speech", i, v)
            for i, v in enumerate(_wide_voices())}
    want.update({f"wmusic_{i:02d}": ("music", i, None) for i in range(WIDE_MUSIC_PIECES)})
    out = {}
    with tempfile.TemporaryDirectory() as td:
        for name, (kind, i, v) in want.items():
            f = WIDE_CACHE / f"{name}.npy"
            if not f.exists():
                x = _wide_speech(*v, seed=300 + i, tmp=Path(td)) if kind == "speech" \
                    else _wide_music(400 + i, Path(td))
                x16 = np.clip(np.round(x), -32768, 32767).astype(np.int16)
                np.save(f.with_suffix(".tmp.npy"), x16)
                f.with_suffix(".tmp.npy").rename(f)
            out[name] = np.load(f).astype(np.float32)
    return out
