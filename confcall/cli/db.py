"""`confcall db …`: the database schema (Alembic migrations).

Amounts are fen. Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

import click

from ._money_common import db_group

__all__ = ["db"]

db = db_group("db", "Database schema (Alembic migrations).")


@db.command("upgrade")
@click.argument("revision", default="head")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Migrate the database to REVISION (default: newest). A database left without areas
    or rate plans gets the defaults `serve` would load (the area table and plan 'default'),
    so `account create` works right after."""
    from confcall.store import Store, current, upgrade
    upgrade(ctx.obj["url"], revision)
    click.echo(f"database at revision {current(ctx.obj['url'])}")
    if revision == "head":
        from confcall.daemon import seed_defaults
        store = Store(ctx.obj["url"])
        try:
            for line in seed_defaults(store):
                click.echo(line)
        finally:
            store.dispose()


@db.command("downgrade")
@click.argument("revision", default="-1")
@click.pass_context
def db_downgrade(ctx: click.Context, revision: str) -> None:
    """Step the schema back (default: one revision)."""
    from confcall.store import current, downgrade
    downgrade(ctx.obj["url"], revision)
    click.echo(f"database at revision {current(ctx.obj['url'])}")


@db.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> None:
    """Print the database's migration revision (compare with `confcall db upgrade`)."""
    from confcall.store import current
    click.echo(current(ctx.obj["url"]) or "empty")
