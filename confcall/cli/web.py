"""`confcall web` (the site alone, without spans) and `confcall operator add` (console logins)."""
from __future__ import annotations

from datetime import UTC, datetime

import click

__all__ = ["operator", "web"]


@click.command()
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config ([database] and [web] sections are used).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Override [web] port (0 = any free port; the URL is printed).")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Database thread-pool size.")
def web(config_path: str | None, port: int | None, threads: int) -> None:
    """Serve the web site and JSON API alone (the box serves it itself when [web] is set)."""
    from twisted.internet import reactor

    from confcall.config import Config, ConfigError, load_config
    from confcall.daemon import ensure_pepper
    from confcall.web import WebConfig
    from confcall.web.standalone import start

    try:
        cfg = load_config(config_path) if config_path else Config()
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    ensure_pepper()
    if cfg.booking_channels == 0:  # "this box's channels": the site alone has no box
        click.echo("confcall web: [booking] channels is 0 (the box's own B-channels); alone, "
                   "the site's capacity check assumes 30: set it to the channels your boxes "
                   "keep for booked conferences (docs/web.md)", err=True)
    failed: list[BaseException] = []

    def go() -> None:
        try:
            start(reactor, cfg.database_url, WebConfig.from_config(cfg), port=port,
                  threads=threads)
        except Exception as e:  # noqa: BLE001 - reported, then exit 1
            failed.append(e)
            reactor.stop()

    reactor.callWhenRunning(go)
    reactor.run()
    if failed:
        raise click.ClickException(f"the web site could not start: {failed[0]}")


@click.group()
def operator() -> None:
    """Operator accounts of the web console."""


@operator.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "viewer"]), default="viewer",
              show_default=True, help="admin may change money; viewer only reads")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters (prompted when not given).")
@click.option("--db", "db_url", default=None, help="Database URL (default: $CONFCALL_DB).")
def operator_add(name: str, role: str, password: str, db_url: str | None) -> None:
    """Create an operator login NAME for the console (/ops)."""
    from confcall.daemon import ensure_pepper
    from confcall.store import Store, default_url
    from confcall.web.i18n import Refusal
    from confcall.web.operators import create_operator

    ensure_pepper()
    store = Store(db_url or default_url())
    try:
        create_operator(store, name, password, role, datetime.now(UTC))
    except Refusal as e:
        raise click.ClickException(e.text("en")) from None
    finally:
        store.dispose()
    click.echo(f"operator {name} ({role}) created")
