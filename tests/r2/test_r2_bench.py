"""bench/r2.py's short mode runs in the suite, so the bench cannot rot; its figures are sane:
every set-up well inside the MF timing limits, one compelled cycle per register signal."""
import importlib.util
import re
from pathlib import Path


def test_r2_bench_short_mode():
    path = Path(__file__).resolve().parents[2] / "bench" / "r2.py"
    spec = importlib.util.spec_from_file_location("bench_r2", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    lines = bench.main(["--short"])
    assert len(lines) == 2
    for line in lines:
        m = re.search(r"(\d+) set-ups \(0 failed\), ([\d.]+) s of line time per set-up "
                      r"\(max ([\d.]+) s, "
                      r"limit 30 s\), ([\d.]+) compelled cycles of (\d+) ms \(limit 5000 ms", line)
        assert m, line
        n, setup, worst, cycles, cycle_ms = (float(g) for g in m.groups())
        assert n == 40 and worst < 30
        # 5 + 11 digits, the end of the calling number, the two categories: 19 cycles
        assert cycles == 19 and abs(setup - cycles * cycle_ms / 1000) < 0.1
        assert 40 <= cycle_ms < 500  # four tone recognitions per cycle, 20 ms frames
        assert re.search(r"[\d.]+ set-ups/s per E1 span", line)
