"""Item 9 of issue 13 (numba's cache): ``import confcall.dsp`` keeps other versions' kernels
(it deleted every other ``dsp-*`` directory), prunes only ones unused for 30 days, and its
stale-kernel guard (one directory per version of the kernel sources) works without
``NUMBA_CACHE_DIR`` too."""
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = "import numba, confcall.dsp; print(numba.config.CACHE_DIR)"


def _import_dsp(env_extra, drop=("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")):
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(env_extra, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", SHOW], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return Path(out.stdout.strip().splitlines()[-1])


def test_other_versions_kernels_survive_and_only_long_unused_ones_are_pruned(tmp_path):
    base = tmp_path / "numba"
    other = base / "dsp-0123456789abcdef"
    other.mkdir(parents=True)
    (other / "kernel.nbi").write_bytes(b"another version's kernel")
    stale = base / "dsp-fedcba9876543210"
    stale.mkdir()
    old = time.time() - 40 * 86400
    os.utime(stale, (old, old))
    mine = _import_dsp({"NUMBA_CACHE_DIR": str(base)})
    assert mine.parent == base and mine.name.startswith("dsp-") and mine.is_dir()
    assert (other / "kernel.nbi").exists()
    assert not stale.exists()


def test_guard_works_without_numba_cache_dir(tmp_path):
    mine = _import_dsp({"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert mine.parent == tmp_path / "xdg" / "confcall" / "numba"
    assert mine.name.startswith("dsp-") and len(mine.name) == 4 + 16 and mine.is_dir()


def test_serve_path_does_not_import_the_simulator():
    """`confcall serve` on a card: the modules it loads never pull in confcall.sim (the
    simulator is imported only under ``simulated = true``, by the demo and by --sim)."""
    code = ("import sys, confcall.cli, confcall.cli.run, confcall.daemon, confcall.control_socket,"
            " confcall.media_faults, confcall.warmup, confcall.hw;"
            " print(sorted(m for m in sys.modules if m.startswith('confcall.sim')))")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
    # and every import of it in the product is inside a function on a simulated path
    for path in (ROOT / "confcall").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if ("from confcall.sim" in line or "import confcall.sim" in line) \
                    and not line.startswith((" ", "\t")):
                raise AssertionError(f"{path}:{n}: module-level import of the simulator")
