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
    assert "CONNECT never sent: A is not charged" in text
    assert "request confirmed on-hook (never answered); calling back in 3 s" in text
    assert "13900139000 joined in seat 2" in text and "13700137000 joined in seat 3" in text
    assert "13500135000 failed: cause 17 (user busy)" in text
    assert "initiator drops seat 2 (13900139000)" in text
    assert "conference ends: initiator hung up" in text
    assert text.count("[rating] leg to ") == 3 and "A's balance now 49." in text
    assert "D heard: ivr_welcome ivr_enter_pin ivr_menu ivr_balance_is" in text
    assert "span2: span alarm RED/LOS" in text and "span2: span alarm cleared" in text
    assert "confcall stopped: all calls cleared" in text
    assert (tmp_path / "confcall.pepper").stat().st_mode & 0o077 == 0
