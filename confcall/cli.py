"""`confcall`: the NOC's command line. Thin: every command calls into the packages.

Groups: `span` (line status), `hw` (card profiles → DAHDI config), `demo` (the simulated box),
plus the money groups (`db`, `account`, `card`, `rate`, `cdr`) when installed.
"""
from __future__ import annotations

import sys

import click

from confcall.dahdi import DahdiError

__all__ = ["main"]


@click.group()
@click.version_option(package_name="confcall")
def main() -> None:
    """confcall — conference callback over E1/T1 trunks."""


@main.group()
def span() -> None:
    """E1/T1 spans: alarms, error counters, channels."""


def _parse_sim(spec: str) -> list[tuple[str, str]]:
    spans = []
    for part in spec.split(","):
        line, _, sig = part.strip().partition(":")
        line, sig = line.upper(), (sig or "pri").lower()
        if line not in ("E1", "T1") or sig not in ("pri", "cas"):
            raise click.BadParameter(
                f"{part!r}: each span is LINE[:SIGNALLING] with LINE E1|T1 and SIGNALLING "
                "pri|cas, e.g. E1:pri,E1:cas", param_hint="--sim")
        spans.append((line, sig))
    return spans


def _socket_option(f):  # type: ignore[no-untyped-def]
    return click.option("--socket", "socket_path", default=None, metavar="PATH",
                        help="The running box's control socket (default var/confcall.sock).")(f)


def _ask(socket_path: str | None, cmd: str) -> dict | None:
    """The running box's answer, or None when no box listens there (and none was named)."""
    import os

    from confcall.control import DEFAULT_SOCKET, ask
    path = socket_path or DEFAULT_SOCKET
    if not os.path.exists(path):
        if socket_path:
            raise click.ClickException(f"no control socket at {path}: is `confcall serve` "
                                       "running with this [control] socket?")
        return None
    try:
        answer = ask(path, cmd)
    except OSError as e:
        if not socket_path:
            return None  # a stale socket of a box that is gone: read the devices instead
        raise click.ClickException(f"cannot reach the box at {path}: {e}") from e
    if not answer.get("ok"):
        raise click.ClickException(f"the box refused {cmd}: {answer.get('error')}")
    return answer


@span.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--sim", metavar="SPANS", default=None,
              help="Show a simulated card instead of /dev/dahdi, e.g. E1:pri,E1:pri.")
@_socket_option
def span_status_cmd(as_json: bool, sim: str | None, socket_path: str | None) -> None:
    """Each span's alarms, counters and channel states (from the running box when there is
    one, else straight from /dev/dahdi)."""
    import json

    from confcall.console import render_span_dicts, span_dicts
    from confcall.dahdi.inventory import inventory

    answer = _ask(socket_path, "span_status") if sim is None else None
    if answer is not None:
        spans = answer["spans"]
    else:
        card = None
        if sim is not None:
            from fake_span import SimCard
            card = SimCard(_parse_sim(sim)).install()
        try:
            spans = span_dicts(inventory())
        except DahdiError as e:
            hint = (" (no DAHDI driver loaded? check `lsmod | grep dahdi` and "
                    "/etc/dahdi/system.conf, or use --sim to see a simulated card)"
                    if e.errno == 2 else "")
            raise click.ClickException(f"{e}{hint}") from e
        finally:
            if card is not None:
                card.uninstall()
    if as_json:
        click.echo(json.dumps({"spans": spans}, indent=2, ensure_ascii=False))
    else:
        click.echo(render_span_dicts(spans))


def _from_box(socket_path: str | None, cmd: str, as_json: bool) -> list | None:
    """The running box's list for ``cmd``; printed as JSON (and None returned) with --json."""
    import json
    answer = _ask(socket_path, cmd)
    if answer is None:
        raise click.ClickException("no running box (no var/confcall.sock); start `confcall "
                                   "serve` or name its --socket")
    if as_json:
        click.echo(json.dumps(answer[cmd], indent=2, ensure_ascii=False))
        return None
    return list(answer[cmd])


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_socket_option
def calls(as_json: bool, socket_path: str | None) -> None:
    """Calls in progress on the running box (every leg, every span)."""
    items = _from_box(socket_path, "calls", as_json)
    if items is None:
        return
    for c in items:
        click.echo(f"{c['trunk']:8} ch {c['channo']!s:>4}  {c['direction']:3}  "
                   f"{c['number'] or '-':>15} -> {c['dnis'] or '-':<8} {c['state']:<12} "
                   f"{c['seconds']:>7.1f} s")
    click.echo(f"{len(items)} call(s)")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_socket_option
def conferences(as_json: bool, socket_path: str | None) -> None:
    """Conferences in progress on the running box, with their seats."""
    items = _from_box(socket_path, "conferences", as_json)
    if items is None:
        return
    for c in items:
        seats = ", ".join(f"{m['seat'] or '-'}:{m['number']}" for m in c["members"])
        click.echo(f"{c['reference']}  payer {c['payer']}  {c['seconds']:.0f} s  "
                   f"{'inviting' if c['inviting'] else 'talking'}  [{seats}]")
    click.echo(f"{len(items)} conference(s)")


@main.command()
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config file (see confcall/config.py); default: built-in defaults.")
def serve(config_path: str | None) -> None:
    """Run the box: spans, signalling, media engine, call control."""
    from twisted.internet import reactor

    from confcall.config import Config, ConfigError, load_config
    from confcall.daemon import Daemon, ensure_pepper

    try:
        cfg = load_config(config_path) if config_path else Config()
    except ConfigError as e:
        raise click.ClickException(str(e)) from e
    if not cfg.simulated and not cfg.span_config:
        raise click.ClickException("no [hardware] span_config given (write one with "
                                   "`confcall hw genconf PROFILE --span-config FILE`), and "
                                   "[hardware] simulated is false")
    ensure_pepper()
    card = None
    if cfg.simulated:
        from fake_span import SimCard
        card = SimCard(cfg.sim_spans).install()
    daemon = Daemon(cfg, reactor, card=card)
    failed: list[BaseException] = []

    def start() -> None:
        try:
            daemon.start()
        except Exception as e:  # noqa: BLE001 - reported, then the process exits 1
            failed.append(e)
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: None if failed else daemon.stop())
    reactor.run()
    if failed:
        raise click.ClickException(f"confcall could not start: {failed[0]}")


@main.command()
@click.option("--duration", type=float, default=60.0, show_default=True,
              help="Seconds to run the scripted day; 0 repeats until Ctrl-C.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Prompt language.")
def demo(duration: float, lang: str) -> None:
    """The box on a simulated card with scripted subscribers, in real time, narrated."""
    from twisted.internet import reactor

    from confcall.demo import DemoSession

    if duration < 0:
        raise click.BadParameter("must be 0 (forever) or positive", param_hint="--duration")
    session = DemoSession(reactor, sys.stdout, duration=duration, language=lang)
    session.prepare()
    reactor.callWhenRunning(session.start)
    reactor.addSystemEventTrigger("before", "shutdown", session.stop)
    reactor.run()


def _register_optional_groups() -> None:
    """Groups owned by other packages; registered here so `confcall --help` lists them all."""
    import importlib

    for module, names in (("confcall.cli_hw", ("hw",)),
                          ("confcall.cli_money", ("db", "account", "card", "rate", "cdr")),
                          ("confcall.cli_prompts", ("prompts",))):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        for name in names:
            cmd = getattr(mod, name, None)
            if cmd is not None:
                main.add_command(cmd)


_register_optional_groups()
