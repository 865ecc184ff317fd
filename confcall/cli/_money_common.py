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
from sqlalchemy.exc import DBAPIError

from confcall.rating import MoneyError
from confcall.store import DEFAULT_URL, Store

__all__ = ["db_group", "fen_text", "money_errors", "store_of", "when"]

_db_option = click.option("--db", "db_url", envvar="CONFCALL_DB", default=DEFAULT_URL,
                          show_default=True, help="database URL (env CONFCALL_DB)")


def store_of(ctx: click.Context) -> Store:
    if "store" not in ctx.obj:
        store = Store(ctx.obj["url"])
        ctx.call_on_close(store.dispose)
        check_schema(store)
        ctx.obj["store"] = store
    return ctx.obj["store"]


def check_schema(store: Store) -> None:
    """Refuse a database that is not at this confcall's schema (one line, not a SQLAlchemy
    traceback about a missing table): tell the operator to run ``confcall db upgrade``."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import DBAPIError

    from confcall.store.migrate import alembic_config
    heads = ScriptDirectory.from_config(alembic_config(store.url)).get_heads()
    try:
        with store.engine.connect() as conn:
            rev = MigrationContext.configure(conn).get_current_revision()
    except DBAPIError as e:
        raise click.ClickException(f"--db {_safe_url(store.url)}: cannot open the database "
                                   f"({str(e.orig).splitlines()[0]})") from None
    if rev not in heads:
        state = "empty (no schema)" if rev is None else \
            f"at revision {rev}, not {' or '.join(sorted(heads))}"
        raise click.ClickException(str(MoneyError("db.unmigrated", url=_safe_url(store.url),
                                                  state=state)))


def _safe_url(url: str) -> str:
    """The URL without a password."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only for the message
        return "(the configured URL)"


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
        except DBAPIError as err:  # a rule the checks above missed: one line, nothing written
            first = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
            raise click.ClickException(f"the database refused the change ({first}); nothing "
                                       "was written") from None
    return wrapper


def fen_text(v: int) -> str:
    return f"{v} fen ({v / 100:.2f} yuan)" if abs(v) < 10**15 else str(v)


def when(text: str, field: str = "time") -> datetime:
    """An ISO date/time (UTC if no zone) as an aware UTC datetime; years 1970-2199 (beyond,
    the conversion to UTC overflows or it is a typo)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO date/time") from None
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        value = datetime.max.replace(tzinfo=UTC)  # refused just below
    if not 1970 <= value.year <= 2199:
        raise click.ClickException(f"{field}: a date/time between 1970 and 2199, got {text!r}")
    return value
