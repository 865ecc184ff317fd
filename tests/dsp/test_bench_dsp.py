"""bench/dsp.py's short mode runs and prints every figure (a bench that breaks fails CI)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_dsp_short_mode_prints_its_figures():
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "dsp.py"), "--short"],
                       cwd=ROOT, check=False,
                       env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout
    assert "echo canceller off" in out
    assert "realistic mix" in out and "channels per core" in out
    assert "probing (echo-free)" in out
