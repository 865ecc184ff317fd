"""A throwaway PostgreSQL cluster for the money tests, plus per-test databases.

Started once per test session (per xdist worker): ``initdb`` into a temp dir as the
``postgres`` OS user (tests run as root and PostgreSQL refuses root), ``pg_ctl start`` on a
free loopback port, trust authentication on 127.0.0.1 only; stopped and deleted at the end.
Missing server binaries are a test FAILURE with an explanation, never a skip.

Per test: a migrated and seeded template database is built once per engine; each test gets a
copy (``CREATE DATABASE ... TEMPLATE`` on PostgreSQL, a file copy on SQLite).
"""
from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_BIN_GLOBS = ["/usr/lib/postgresql/*/bin"]


def find_pg_bin() -> Path:
    env = os.environ.get("CONFCALL_PG_BIN")
    candidates = [env] if env else sorted(glob.glob(PG_BIN_GLOBS[0]), reverse=True)
    for c in candidates:
        if c and (Path(c) / "initdb").exists() and (Path(c) / "pg_ctl").exists():
            return Path(c)
    pytest.fail("PostgreSQL server binaries not found (looked for initdb and pg_ctl in "
                "/usr/lib/postgresql/*/bin or $CONFCALL_PG_BIN). Install Debian package "
                "'postgresql' (scripts/setup does this); the money tests must run on "
                "PostgreSQL too, so they fail rather than skip.", pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgCluster:
    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # False (tests): no fsync; True (benchmarks): real commits
        self.bin = find_pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="confcall-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._counter = itertools.count()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self.dir.chmod(0o700)

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    def start(self) -> None:
        res = subprocess.run(self._cmd("initdb", "-D", str(self.data), "-A", "trust", "-U",
                                       "postgres", "-E", "UTF8", "--no-sync",
                                       "--no-instructions"),
                             capture_output=True, text=True, check=False)
        if res.returncode:
            pytest.fail(f"initdb failed: {res.stderr}", pytrace=False)
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.dir} -c max_connections=60")
        if not self.durable:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._opts = opts
        self._pg_ctl_start()

    def _pg_ctl_start(self) -> None:
        res = subprocess.run(self._cmd("pg_ctl", "start", "-w", "-D", str(self.data), "-l",
                                       str(self.dir / "log"), "-o", self._opts),
                             capture_output=True, text=True, check=False)
        if res.returncode:
            log = (self.dir / "log").read_text() if (self.dir / "log").exists() else ""
            pytest.fail(f"pg_ctl start failed: {res.stderr}\n{log}", pytrace=False)

    def halt(self) -> None:
        """Stop the server, keeping its data (a database outage; ``resume`` ends it). Use a
        private cluster for this: the shared one serves every test of the worker."""
        res = subprocess.run(self._cmd("pg_ctl", "stop", "-w", "-m", "fast", "-D",
                                       str(self.data)), capture_output=True, text=True,
                             check=False)
        if res.returncode:
            pytest.fail(f"pg_ctl stop failed: {res.stderr}", pytrace=False)

    def resume(self) -> None:
        """Start the halted server again, on the same port and data."""
        self._pg_ctl_start()

    def stop(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data)),
                       capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"  # psycopg 3, the default

    def execute(self, sql: str) -> None:
        import psycopg
        conn = psycopg.connect(host="127.0.0.1", port=self.port, user="postgres",
                               dbname="postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def new_database(self, template: str | None = None) -> str:
        name = f"t{os.getpid()}_{next(self._counter)}"
        self.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return name


_CLUSTER: PgCluster | None = None
_USERS = 0


def acquire() -> PgCluster:
    global _CLUSTER, _USERS
    if _CLUSTER is None:
        cluster = PgCluster()
        cluster.start()
        _CLUSTER = cluster
    _USERS += 1
    return _CLUSTER


def release() -> None:
    global _CLUSTER, _USERS
    _USERS -= 1
    if _USERS == 0 and _CLUSTER is not None:
        _CLUSTER.stop()
        _CLUSTER = None


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = acquire()
    yield cluster
    release()


# -- money test databases ---------------------------------------------------------------------

from confcall.rating.rates import DEFAULT_PLAN_CSV as DEFAULT_RATES  # noqa: E402

_AREA_TABLE: dict | None = None


def area_table() -> dict:
    global _AREA_TABLE
    if _AREA_TABLE is None:
        from confcall.rating.areas import build_area_table
        _AREA_TABLE = build_area_table()
    return _AREA_TABLE


def prepare(url: str) -> None:
    """Migrate to head and seed areas, number rules and the default plan."""
    from confcall.rating import areas, rates
    from confcall.store import Store, upgrade
    upgrade(url)
    store = Store(url)
    try:
        with store.transaction() as s:
            areas.seed_areas(s, area_table())
            rates.import_rates(s, "default", DEFAULT_RATES)
    finally:
        store.dispose()


_TEMPLATES: dict[str, str] = {}


def template(engine: str, cluster_getter) -> str:  # type: ignore[no-untyped-def]
    if engine not in _TEMPLATES:
        if engine == "sqlite":
            tmp = tempfile.mkdtemp(prefix="confcall-sqlite-")
            atexit.register(shutil.rmtree, tmp, True)
            path = Path(tmp) / "template.db"
            prepare(f"sqlite:///{path}")
            _TEMPLATES[engine] = str(path)
        else:
            cluster = cluster_getter()
            name = cluster.new_database()
            prepare(cluster.url(name))
            _TEMPLATES[engine] = name
    return _TEMPLATES[engine]


@pytest.fixture(autouse=True)
def cheap_argon2():
    from confcall.rating import secrets_
    secrets_.configure("test")
    secrets_.set_pepper(b"test-pepper")
    yield


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):  # type: ignore[no-untyped-def]
    """A migrated, seeded database of each engine, private to the test."""
    if request.param == "sqlite":
        src = template("sqlite", None)
        dst = tmp_path / "confcall.db"
        shutil.copyfile(src, dst)
        yield f"sqlite:///{dst}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = template("postgresql", lambda: cluster)
    url = cluster.url(name)
    yield url
    reset_pg(url)


RESET_TABLES = ("booking_attempts", "booking_participants", "bookings", "legs", "reservations",
                "ledger", "conferences", "cards", "card_batches", "accounts", "rates",
                "rate_plans", "number_rules", "acct_outbox", "billed_legs", "cdr_files",
                "web_sessions", "operators", "audit_log", "call_legs")
RESET_TABLES += ("boxes",)  # issue 13, fleet: the boxes' heartbeats (migration 0015)
RESET_KEYED_TABLES = ("account_limits", "auth_throttles")  # issue 14: no id sequence


def reset_pg(url: str) -> None:
    """Put the shared PostgreSQL test database back to its seeded state (much cheaper than a
    new database per test; triggers, including the ledger's append-only one, are off for this
    one cleaning transaction only)."""
    from sqlalchemy import text

    from confcall.rating import rates
    from confcall.store import Store
    store = Store(url)
    try:
        with store.transaction() as s:
            s.execute(text("SET LOCAL session_replication_role = replica"))  # no triggers/FKs
            for table in RESET_KEYED_TABLES:
                s.execute(text(f"DELETE FROM {table}"))
            for table in RESET_TABLES:
                s.execute(text(f"DELETE FROM {table}"))
                if table != "number_rules":
                    s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   "1, false)"))
            s.execute(text("DELETE FROM area_prefixes WHERE source = 'operator'"))
            seeded = s.execute(text("SELECT count(*) FROM area_prefixes")).scalar_one()
            if seeded != len(area_table()):
                from confcall.rating import areas
                areas.seed_areas(s, area_table(), replace_operator_rows=True)
            rates.import_rates(s, "default", DEFAULT_RATES)
            # the triggers that bump it were off: caches of the reference data must drop
            s.execute(text("UPDATE reference_generation SET generation = generation + 1"))
    finally:
        store.dispose()


@pytest.fixture
def store(db_url):  # type: ignore[no-untyped-def]
    from confcall.store import Store
    s = Store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def empty_db_url(request, tmp_path):  # type: ignore[no-untyped-def]
    """An empty database (no schema) of the engine named by the ``engine`` param."""
    engine = request.param
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    cluster = request.getfixturevalue("pg_cluster")
    name = cluster.new_database()
    yield cluster.url(name)
    cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.contextmanager
def private_database(seed):  # type: ignore[no-untyped-def]
    """A PostgreSQL cluster of the test's own (one the test may stop and start: a database
    outage) with one database seeded by ``seed(url)``: yields ``(cluster, url)``."""
    cluster = PgCluster()
    cluster.start()
    try:
        url = cluster.url(cluster.new_database())
        seed(url)
        yield cluster, url
    finally:
        cluster.stop()
