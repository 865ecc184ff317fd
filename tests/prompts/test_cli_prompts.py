"""`confcall prompts …` (the group from confcall.cli.prompts, run with click's runner)."""
from __future__ import annotations

from click.testing import CliRunner

from confcall.cli.prompts import prompts

from .conftest import speechlike, write_wav


def run(*args: str):
    return CliRunner().invoke(prompts, list(args))


def test_say():
    r = run("say", "--lang", "zh", "amount", "1234")
    assert r.exit_code == 0, r.output
    assert r.output.splitlines() == ["n12 yuan n3 jiao n4 fen", "十二元三角四分"]
    r = run("say", "--lang", "en", "digits", "0101")
    assert r.output.splitlines() == ["d0 d1 d0 d1", "zero one zero one"]
    r = run("say", "--lang", "zh", "number", "20000")
    assert r.output.splitlines()[1] == "两万"
    assert run("say", "--lang", "en", "seat", "2").output.splitlines()[1] == "Seat two"


def test_say_errors_are_one_line():
    r = run("say", "--lang", "zh", "amount", "12.5")
    assert r.exit_code == 1 and "Error: amount must be an integer, got '12.5'" in r.output
    r = run("say", "--lang", "zh", "number", "--", "-3")
    assert r.exit_code == 1 and "out of range" in r.output
    r = run("say", "--lang", "zh", "amount", "--", "-200")
    assert r.exit_code == 0 and r.output.splitlines()[1] == "负两元"
    assert run("say", "--lang", "fr", "number", "3").exit_code == 2


def test_build_one_key_then_list(prompt_dir):
    r = run("build", "--lang", "en", "--key", "goodbye")
    assert r.exit_code == 0, r.output
    assert "rendered 1, cached 0" in r.output and (prompt_dir / "en" / "goodbye.wav").is_file()
    assert (prompt_dir / "music" / "default.wav").is_file()
    r = run("build", "--lang", "en", "--key", "goodbye")
    assert "rendered 0, cached 1" in r.output
    r = run("list", "--lang", "en")
    lines = r.output.splitlines()
    assert any(ln.split()[:3] == ["goodbye", "en", "tts"] for ln in lines)
    assert any(ln.split()[:3] == ["confirmed", "en", "missing"] for ln in lines)


def test_import_and_unimport(tmp_path, prompt_dir):
    wav = write_wav(tmp_path / "hello.wav", speechlike(16000), 16000)
    r = run("--dir", str(tmp_path / "p"), "import", "goodbye", str(wav), "--lang", "zh")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p" / "recorded" / "zh" / "goodbye.wav").is_file()
    r = run("--dir", str(tmp_path / "p"), "list", "--lang", "zh")
    assert any(ln.split()[:3] == ["goodbye", "zh", "recorded"] for ln in r.output.splitlines())
    r = run("--dir", str(tmp_path / "p"), "unimport", "goodbye", "--lang", "zh")
    assert "recording removed" in r.output


def test_import_errors(tmp_path):
    wav = write_wav(tmp_path / "hello.wav", speechlike(16000), 16000)
    r = run("import", "nosuchkey", str(wav), "--lang", "zh")
    assert r.exit_code == 1 and "Error: unknown prompt key 'nosuchkey'" in r.output
    r = run("import", "goodbye", str(tmp_path / "none.wav"), "--lang", "zh")
    assert r.exit_code == 1 and "none.wav does not exist" in r.output
    r = run("import", "goodbye", str(wav))
    assert r.exit_code == 2 and "--lang" in r.output


def test_music_import_and_default(tmp_path, prompt_dir):
    wav = write_wav(tmp_path / "m.wav", speechlike(44100, seconds=3.0), 44100)
    r = run("music", "import", str(wav))
    assert r.exit_code == 0, r.output
    assert (prompt_dir / "music" / "operator.wav").is_file()
    r = run("music", "default")
    assert "operator music removed" in r.output
    assert not (prompt_dir / "music" / "operator.wav").exists()
