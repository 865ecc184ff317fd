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
    """Migrate the database to REVISION (default: newest)."""
    from confcall.store import current, upgrade
    upgrade(ctx.obj["url"], revision)
    click.echo(f"database at revision {current(ctx.obj['url'])}")


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
    from confcall.store import current
    click.echo(current(ctx.obj["url"]) or "empty")
