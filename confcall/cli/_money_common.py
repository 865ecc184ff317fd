"""What the money command groups (``db``, ``account``, ``card``, ``rate``, ``cdr``) share.

Standalone click groups (the main ``confcall`` CLI registers them with ``add_command``).  Each
takes ``--db URL`` (default: $CONFCALL_DB or sqlite:///var/confcall.db).  Amounts are fen.
Refusals print the reason and exit with status 1; nothing is written.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from confcall.rating import MoneyError
from confcall.store import DEFAULT_URL, Store

__all__ = ["db_group", "fen_text", "money_errors", "store_of", "when"]

_db_option = click.option("--db", "db_url", envvar="CONFCALL_DB", default=DEFAULT_URL,
                          show_default=True, help="database URL (env CONFCALL_DB)")


def store_of(ctx: click.Context) -> Store:
    if "store" not in ctx.obj:
        from confcall.service.pepper import locate_pepper
        locate_pepper()  # the pepper serve uses: env, else var/, else the installed layout
        ctx.obj["store"] = Store(ctx.obj["url"])
        ctx.call_on_close(ctx.obj["store"].dispose)
    return ctx.obj["store"]


def db_group(name: str, help_: str) -> click.Group:
    @click.group(name=name, help=help_)
    @_db_option
    @click.pass_context
    def grp(ctx: click.Context, db_url: str) -> None:
        ctx.ensure_object(dict)
        ctx.obj["url"] = db_url
    return grp


def money_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MoneyError as err:
            raise click.ClickException(str(err)) from None
    return wrapper


def fen_text(v: int) -> str:
    return f"{v} fen ({v / 100:.2f} yuan)" if abs(v) < 10**15 else str(v)


def when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date/time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
