"""`confcall serve` (the box) and `confcall demo` (the box on a simulated card, narrated)."""
from __future__ import annotations

import sys

import click

__all__ = ["demo", "serve"]


@click.command()
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
    from confcall.logsetup import configure_logging, route_twisted
    configure_logging(cfg.log_level, cfg.log_format)
    route_twisted()
    if not cfg.simulated and not cfg.span_config:
        raise click.ClickException("no [hardware] span_config given (write one with "
                                   "`confcall hw genconf PROFILE --span-config FILE`), and "
                                   "[hardware] simulated is false")
    ensure_pepper()
    card = None
    if cfg.simulated:
        from confcall.sim import SimCard
        spans = list(cfg.sim_spans)
        if cfg.span_config:  # a generated span config, run on a card simulated to match it
            from confcall.hw import HwConfigError, load_span_config
            from confcall.hw.spanconf import sim_spans
            try:
                spans = sim_spans(load_span_config(cfg.span_config))
            except (HwConfigError, ValueError) as e:
                raise click.ClickException(f"{cfg.span_config}: {e}") from e
        card = SimCard(spans).install()
    daemon = Daemon(cfg, reactor, card=card)
    try:  # migrations, prompts, media kernels: before the reactor runs and any span opens
        daemon.prepare()
    except Exception as e:  # noqa: BLE001 - reported, exit 1
        if card is not None:
            card.uninstall()
        raise click.ClickException(f"confcall could not start: {e}") from e
    failed: list[BaseException] = []

    def start() -> None:
        try:
            daemon.start()
        except Exception as e:  # noqa: BLE001 - reported, then the process exits 1
            import logging
            logging.getLogger("confcall.daemon").error(
                "confcall could not start: %s", e, exc_info=not isinstance(e, (
                    RuntimeError, OSError)))
            failed.append(e)
            reactor.stop()

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown",
                                  lambda: None if failed else daemon.stop())
    reactor.run()
    if failed:
        raise click.ClickException(f"confcall could not start: {failed[0]}")


@click.command()
@click.option("--duration", type=float, default=None,
              help="Seconds to run; default: until every step of the script has been "
              "observed (about 90 s); 0 keeps the box running until Ctrl-C.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Prompt language.")
def demo(duration: float | None, lang: str) -> None:
    """The box on a simulated card with scripted subscribers, in real time, narrated."""
    from twisted.internet import reactor

    from confcall.demo import DemoSession

    if duration is not None and duration < 0:
        raise click.BadParameter("must be 0 (forever) or positive", param_hint="--duration")
    session = DemoSession(reactor, sys.stdout, duration=duration, language=lang)
    session.prepare()
    reactor.callWhenRunning(session.start)
    reactor.addSystemEventTrigger("before", "shutdown", session.stop)
    reactor.run()
