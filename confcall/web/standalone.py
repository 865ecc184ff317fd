"""The site without the box (``confcall web``): the same pages and API over the same
database, for a front-end host or a test; the operator's live view then says there is no box.

The reactor thread only parses and renders: database work (and argon2) runs in a ``DbRunner``
pool started when the reactor runs and stopped at shutdown.
"""
from __future__ import annotations

import sys
from typing import IO, Any

from .app import WebConfig, WebSite

__all__ = ["start"]


def start(reactor: Any, database_url: str, config: WebConfig, out: IO[str] = sys.stdout,
          port: int | None = None, threads: int = 4) -> WebSite:
    """Open the store (migrated), start the pool, listen; prints the URL (tests read it)."""
    from confcall.daemon import _seed_if_empty
    from confcall.store import DbRunner, Store, upgrade

    upgrade(database_url)
    store = Store(database_url)
    _seed_if_empty(store)  # areas and the default plan, as the box does
    runner = DbRunner(store, reactor, maxthreads=threads)
    runner.start()
    site = WebSite(runner, config=config)
    listening = site.listen(reactor, port)
    host = listening.getHost()
    scheme = "https" if config.tls else "http"
    out.write(f"confcall web: listening on {scheme}://{host.host}:{host.port}/\n")
    out.flush()
    reactor.addSystemEventTrigger("after", "shutdown", store.dispose)
    import gc
    # start-up's objects (SQLAlchemy's mappers and compiled statements, templates, phone
    # metadata: some 170 000) out of every GC pass, as the box does: without it each full
    # collection walked them all, a pause of a tenth of a second or more under load and about
    # a quarter of the CPU per request (bench/web.py --site alone, docs/web.md)
    gc.freeze()
    return site
