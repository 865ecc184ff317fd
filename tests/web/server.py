"""The real site in its own process for browser, fuzz and bench runs: ``confcall web`` on a
free loopback port with the production concurrency (Twisted reactor, DbRunner thread pool,
argon2 in the pool), over a SQLite file prepared by the test.  Started and stopped by the
test's own set-up, like the PostgreSQL cluster."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from confcall.rating import ops, secrets_
from confcall.store import Store
from confcall.web.operators import create_operator
from tests.pgcluster import template
from tests.proc_ready import NotReady, Output, stop

A, B, C = "+8613800138000", "+8613900139000", "+8613700137000"
PIN, PIN_B = "482913", "604729"
PEPPER = "web-test-pepper"


def prepare(tmp: Path) -> tuple[str, list[tuple[str, str]]]:
    """A seeded database with subscribers A (50 yuan), B (10 yuan), cards, two operators."""
    secrets_.configure("test")
    secrets_.set_pepper(PEPPER.encode())
    db = tmp / "site.db"
    shutil.copyfile(template("sqlite", None), db)
    url = f"sqlite:///{db}"
    store = Store(url)
    now = datetime.now(UTC)
    for number, pin, fen in ((A, PIN, 5_000), (B, PIN_B, 1_000)):
        ops.create_account(store, number, pin, now=now)
        ops.adjust(store, number, fen, f"fund-{number}", "test funding", now=now)
    batch, cards = ops.generate_cards(store, "test", 6, 3_000, now + timedelta(days=365), now=now)
    ops.activate_batch(store, batch)
    create_operator(store, "alice", "operator-pass-1", "admin", now)
    store.dispose()
    return url, cards


class SiteProcess:
    def __init__(self, url: str, tmp: Path, *, pepper: str = PEPPER, toml: str = "") -> None:
        """``confcall web`` over ``url``; ``toml``: more config (e.g. a [booking] section)."""
        cfg = tmp / "web.toml"
        cfg.write_text(f'[database]\nurl = "{url}"\n[web]\nport = 0\n{toml}')
        env = {**os.environ, "CONFCALL_ARGON2": "test", "CONFCALL_PEPPER": pepper}
        self.proc = subprocess.Popen([str(Path(sys.executable).parent / "confcall"), "web", "-c",
                                      str(cfg)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env, text=True,
                                     cwd=str(tmp))
        # the server says where it listens; its output is drained all along (a request log
        # can no longer fill the pipe and stall the site mid-run)
        self.output = Output(self.proc)
        try:
            self.base = self.output.wait_for(r"listening on (http://\S+)/", 60).group(1)
        except NotReady as e:
            self.stop()
            raise RuntimeError(f"the site did not start: {e}") from None

    def stop(self) -> None:
        stop(self.proc, grace_s=10)
