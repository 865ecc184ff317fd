"""Item 8 of issue 13: the slow start-up work happens before the box takes calls. In a fresh
process (numba's dispatchers empty, as at a real start), ``Daemon.prepare()`` migrates and
seeds the store, has the sounds, and compiles or loads every media kernel and runs it — and
no span channel is open yet; ``start()`` then opens the spans and the first tick costs no
compilation."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, "tests/conference")
    from box_harness import tone_sounds
    from twisted.internet import task
    from confcall.config import Config
    from confcall.daemon import Daemon
    from confcall.sim import SimCard
    from confcall.dsp import engine

    card = SimCard([("E1", "pri")]).install()
    cfg = Config(simulated=True, database_url="sqlite:///" + sys.argv[1],
                 access_numbers=("95000",), service_numbers=("95001",))
    d = Daemon(cfg, task.Clock(), card=card, sounds=tone_sounds(), media_in_thread=False)
    assert not engine._tick.signatures, "a kernel ran before prepare()"
    d.prepare()
    print("open after prepare:", len(card.device.open_fds))
    print("kernels after prepare:", len(engine._tick.signatures))
    from sqlalchemy import func, select
    from confcall.store.models import RatePlan
    with d.store.transaction() as s:
        print("rate plans:", s.scalar(select(func.count()).select_from(RatePlan)))
    from confcall.store.inline import InlineRunner
    d.runner = InlineRunner(d.store)
    d.start()
    print("open after start:", len(card.device.open_fds))
    t0 = time.perf_counter()
    d.media.tick()
    print("first tick ms:", round(1000 * (time.perf_counter() - t0), 1))
    d._release()
    card.uninstall()
""")


def test_prepare_does_the_slow_work_before_any_span_opens(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".cache" / "numba"))
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "box.db")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = dict(line.split(": ", 1) for line in out.stdout.splitlines() if ": " in line)
    assert got["open after prepare"] == "0"
    assert int(got["kernels after prepare"]) >= 1
    assert int(got["rate plans"]) >= 1
    assert int(got["open after start"]) == 31  # 30 B-channels and the D-channel
    # a kernel compiled in the first tick takes seconds; loaded and run once it is ~1 ms
    assert float(got["first tick ms"]) < 500, got
