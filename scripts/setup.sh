#!/usr/bin/env bash
# One entry point for a fresh Debian machine (as root) or a developer's checkout:
#   bash scripts/setup.sh demo   install what is missing, then run `confcall demo`
#   bash scripts/setup.sh test   install what is missing, then run the whole test suite
#   bash scripts/setup.sh lint   install what is missing, then ruff and mypy (CI: before test)
#   bash scripts/setup.sh env    install only (venv in .venv)
# Debian packages are installed only when missing, so a second run costs seconds.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
what="${1:-env}"; shift || true

# Build: compiler, DAHDI headers, libpri, OpenR2. Run time/tests: espeak-ng + sox (prompts and
# test speech), PostgreSQL (the multi-box store, started by the tests themselves), Chromium for
# browser tests, Chinese fonts so pages and screenshots render Hanzi, FreeRADIUS (the carrier's
# billing server in the accounting tests and bench, started by them; never as a service).
APT_PKGS=(gcc make pkg-config python3 python3-venv python3-dev libffi-dev
          dahdi-source libpri-dev libopenr2-dev espeak-ng sox postgresql
          chromium fonts-wqy-microhei
          freeradius
          libspeexdsp1  # speexdsp's echo canceller (MDF): the reference of tests/dsp/test_echo.py
          systemd  # systemd-analyze: the packaging test verifies confcall.service
)

missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "setup: need root to install ${missing[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then PY=/usr/bin/python3; fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=.venv/.confcall-installed
if [ ! -f "$stamp" ] || [ -n "$(find pyproject.toml setup.py native -newer "$stamp" 2>/dev/null | head -1)" ]; then
  .venv/bin/pip install -q -e '.[test]'
  touch "$stamp"
fi

export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$ROOT/.cache/numba}"
mkdir -p "$NUMBA_CACHE_DIR"
# the media kernels compiled into numba's cache now, at install, not at a box's first call
# (minutes of CPU on a cold cache; seconds when it is warm)
.venv/bin/python -m confcall.warmup

case "$what" in
  env) echo "setup: ready (.venv)";;
  demo) exec .venv/bin/confcall demo "$@";;
  lint)
    # style and correctness rules in pyproject.toml ([tool.ruff], [tool.mypy]): fixed, not
    # silenced; the typed packages are listed there
    .venv/bin/ruff check confcall tests bench
    .venv/bin/mypy
    echo "setup: lint clean";;
  test)
    set +e
    # two workers (pytest-xdist): the suite is CPU-bound (numba, libpri, argon2)
    .venv/bin/python -m pytest -q -p no:cacheprovider -n "${CONFCALL_TEST_WORKERS:-2}" "$@"
    rc=$?
    set -e
    if [ "$rc" -eq 5 ]; then echo "setup: pytest collected no tests: the suite is broken" >&2; exit 1; fi
    exit "$rc";;
  *) echo "usage: $0 demo|test|lint|env" >&2; exit 2;;
esac
