"""Every benchmark in bench/ keeps running (issue 13 item 10): each has a ``--short`` mode and
the suite runs it, so a bench that no longer runs fails CI instead of rotting unseen (as
bench/load.py did when ``callbacks.sessions`` became a deque).

A bench whose short mode another test already runs (it needs a fixture of its own: FreeRADIUS,
a browser-free web server) is listed in ``RUN_ELSEWHERE``; this test then checks that test
exists and runs it. Any other file in bench/ is run here; a new bench without ``--short``
fails here until it has one."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))

RUN_ELSEWHERE = {
    "billing.py": "tests/billing/test_bench.py",
    "r2.py": "tests/r2/test_r2_bench.py",
    "security.py": "tests/rating/test_bench_security.py",
    # the same conductor and rules (run_two_boxes, check) at 40 bookings on a PostgreSQL cluster
    "two_boxes.py": "tests/booking/test_two_boxes_pg.py",
    "web.py": "tests/web/test_bench_web.py",
}

# what each bench's short run must print (its headline figure), so a bench that "runs" but
# measures nothing fails too
EXPECT = {
    "dsp.py": "channels per core in real time",
    "erlang_model.py": "a perfect box",
    "load.py": "RESULT: OK",
    "pri.py": "attempts/s",
    "rating.py": "leg settlements/s",
    "overload.py": "RESULT: OK",
    "soak.py": "RESULT: OK",
}


@pytest.mark.parametrize("bench", BENCHES)
def test_bench_short_mode_runs(bench):
    if bench in RUN_ELSEWHERE:
        other = ROOT / RUN_ELSEWHERE[bench]
        assert other.exists(), f"{bench}: its short mode should run in {other}"
        assert f"bench/{bench}" in other.read_text() or f'"{bench}"' in other.read_text() \
            or bench.removesuffix(".py") in other.read_text()
        return
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
    out = subprocess.run([sys.executable, str(ROOT / "bench" / bench), "--short"],
                         capture_output=True, text=True, timeout=900, cwd=ROOT, env=env)
    assert out.returncode == 0, f"{bench} --short failed:\n{out.stdout[-3000:]}\n" \
                                f"{out.stderr[-3000:]}"
    want = EXPECT.get(bench)
    if want is not None:
        assert want in out.stdout, out.stdout[-3000:]
    else:
        assert out.stdout.strip(), f"{bench} --short printed nothing"
