"""bench/billing.py must keep running: its short mode (500 records to a real FreeRADIUS)."""
import subprocess
import sys
from pathlib import Path


def test_the_bench_runs_in_its_short_mode():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, str(root / "bench" / "billing.py"), "--short"],
                         capture_output=True, text=True, timeout=120, cwd=root, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "500 records in" in out.stdout and "records/s" in out.stdout
    assert "FreeRADIUS logged 500 distinct, 0 duplicate(s)" in out.stdout
