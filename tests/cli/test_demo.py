"""`confcall demo`'s script, run in virtual time: the narration tells the product's story."""
import io
import sys
from pathlib import Path

from confcall.dahdi import using_userspace
from confcall.sim import VirtualMediaClock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "conference"))
from box_harness import tone_sounds  # noqa: E402
from tests.pgcluster import cheap_argon2  # noqa: E402,F401

from confcall.demo import DemoSession  # noqa: E402


def test_demo_script_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFCALL_PEPPER_FILE", "")  # restored after the test
    monkeypatch.delenv("CONFCALL_PEPPER_FILE")
    clock = VirtualMediaClock()
    out = io.StringIO()
    demo = DemoSession(clock.reactor, out, duration=75, virtual=True, sounds=tone_sounds(),
                       var_dir=str(tmp_path))
    demo.start()
    clock.run(76)
    assert clock.run_until(lambda: demo.finished, 6)
    text = out.getvalue()
    assert demo.done and not using_userspace()
    assert "CONNECT never sent" in text and "(unchanged: A is not charged)" in text
    assert "request confirmed on-hook (never answered); calling back in 3 s" in text
    assert "13900139000 joined in seat 2" in text and "13700137000 joined in seat 3" in text
    assert "13500135000 failed: cause 17 (user busy)" in text
    assert "initiator drops seat 2 (13900139000)" in text
    assert "conference ends: initiator hung up" in text
    assert text.count("[money] leg to ") == 3 and "A's balance now 49." in text
    assert "IVR prompts played to D: ivr_welcome ivr_enter_pin ivr_menu ivr_balance_is" in text
    assert "span2: span alarm RED/LOS" in text and "span2: span alarm cleared" in text
    assert "confcall stopped: all calls cleared" in text
    assert (tmp_path / "confcall.pepper").stat().st_mode & 0o077 == 0


def test_every_narration_line_is_an_action_the_box_log_or_an_observation(tmp_path, monkeypatch):
    """Observations carry the facts they were made from, and the facts agree with the line:
    audio decoded on the phones, signalling seen by the switch, money read from the DB. The
    default run lasts until the script's last step (span 2's alarm and status included)."""
    monkeypatch.delenv("CONFCALL_PEPPER_FILE", raising=False)
    clock = VirtualMediaClock()
    out = io.StringIO()
    demo = DemoSession(clock.reactor, out, virtual=True, sounds=tone_sounds(),
                       var_dir=str(tmp_path))
    demo.start()
    assert clock.run_until(lambda: demo.finished, 200)
    kinds = {k for k, _, _ in demo.narration}
    assert kinds <= {"do", "box", "line", "heard", "money", "status"}
    observed = [(k, line, f) for k, line, f in demo.narration if k not in ("do", "box")]
    assert all(f for _, _, f in observed)
    by_kind: dict[str, list] = {}
    for k, line, f in observed:
        by_kind.setdefault(k, []).append((line, f))
    access = next(f for line, f in by_kind["line"] if "access call" in line)
    assert access["connected"] is False and access["progress"] and access["early_s"] > 0
    talk = next(f for line, f in by_kind["heard"] if "hears" in line)["levels"]
    for me in "ABC":  # each hears the two others, far above its own voice
        others = [talk[me][o] for o in "ABC" if o != me]
        assert min(others) > -30 and talk[me][me] < min(others) - 20, talk
    money = [f for _, f in by_kind["money"]]
    a_after_access = money[0]
    assert a_after_access["balance_fen"] == a_after_access["opening_fen"] == 5000
    final = next(f for f in money if "legs_fen" in f)
    assert final["opening_fen"] - final["balance_fen"] == final["legs_fen"] > 0
    assert sum(f["amount_fen"] for f in money if "amount_fen" in f) == final["legs_fen"]
    d_heard = next(f for line, f in by_kind["heard"] if "D heard" in line)
    assert d_heard["speech_s"] > 1.0
    assert any("RED" in line for line, _ in by_kind["status"])
    assert "D's balance in the database: 20.00 yuan" in out.getvalue()
    assert "demo finished" in out.getvalue()
