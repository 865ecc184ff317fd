"""bench/security.py must keep running: its short mode (300 cards, 20 timed tries each)."""
import subprocess
import sys
from pathlib import Path


def test_the_bench_runs_in_its_short_mode():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "bench" / "security.py"), "--short"],
                         capture_output=True, text=True, timeout=300, cwd=root, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "card generate: 300 cards in" in out.stdout and "cards/min" in out.stdout
    assert "account PIN: known" in out.stdout and "card serial: known" in out.stdout
