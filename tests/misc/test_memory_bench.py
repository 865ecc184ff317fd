"""bench/memory.py keeps running: its short mode starts a real `confcall serve` on one
simulated span, waits for its systemd READY and reads its idle RSS."""
import re
import subprocess
import sys
from pathlib import Path


def test_memory_bench_short_mode():
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, str(root / "bench" / "memory.py"), "--short"],
                       capture_output=True, text=True, timeout=900, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"idle RSS, 1 simulated E1 span\(s\) \(30 B-channels\): (\d+) MB", r.stdout)
    assert m and 50 < int(m.group(1)) < 2000, r.stdout
