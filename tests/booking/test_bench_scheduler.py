"""bench/scheduler.py must keep running: its short mode (1,000 bookings, SQLite, 1 and 4
boxes as processes; the bench itself fails if a booking is claimed twice or missed)."""
import subprocess
import sys
from pathlib import Path


def test_the_bench_runs_in_its_short_mode():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "bench" / "scheduler.py"), "--short"],
                         capture_output=True, text=True, timeout=300, cwd=root, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "sqlite     1 box(es): 1000 bookings claimed in" in out.stdout
    assert "sqlite     4 box(es): 1000 bookings claimed in" in out.stdout
    assert "claims/s" in out.stdout
