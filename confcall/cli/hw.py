"""`confcall hw …`: card profiles, DAHDI config generation and hardware detection.

Why a separate module: cli.py registers it with ``main.add_command(hw)``; all hardware
knowledge stays in `confcall.hw`, this file only parses options and prints. Every
HwConfigError becomes a one-line ``Error: <file>: <key>: …`` and exit status 1.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from confcall.hw import (
    CardProfile,
    HwConfigError,
    default_plan,
    generate,
    load_plan,
    load_profile,
    load_profiles,
)
from confcall.hw.detect import DetectReport, detect
from confcall.hw.profile import profiles_dir

_DIR = click.Path(file_okay=False, path_type=Path)
_FILE = click.Path(dir_okay=False, path_type=Path)
_META_KEY = "confcall.hw.profiles"


@contextmanager
def _friendly_errors() -> Iterator[None]:
    try:
        yield
    except HwConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("hw")
@click.option("--profiles", "profiles", type=_DIR, default=None,
              help="Profile directory (default: $CONFCALL_HW_PROFILES or <repo>/hw_profiles).")
@click.pass_context
def hw(ctx: click.Context, profiles: Path | None) -> None:
    """Card profiles, DAHDI system.conf generation and hardware detection."""
    ctx.meta[_META_KEY] = profiles  # meta, not obj: leave the main group's ctx.obj alone


def _profiles_dir(ctx: click.Context) -> Path:
    return ctx.meta.get(_META_KEY) or profiles_dir()


@hw.command("list")
@click.pass_context
def list_cmd(ctx: click.Context) -> None:
    """List the known card profiles."""
    with _friendly_errors():
        profiles = load_profiles(_profiles_dir(ctx))
    rows = [("PROFILE", "MODEL", "DRIVER", "SPANS", "LINES", "D-CHANNEL", "HW EC")]
    rows += [(p.name, p.model, p.driver, str(p.spans), "/".join(p.line_types), p.dchannel,
              p.echo.hardware or "-") for p in profiles]
    _table(rows)


@hw.command("show")
@click.argument("profile")
@click.pass_context
def show_cmd(ctx: click.Context, profile: str) -> None:
    """Show everything a profile says about a card."""
    with _friendly_errors():
        p = load_profile(profile, _profiles_dir(ctx))
    for line in describe_profile(p):
        click.echo(line)


def describe_profile(p: CardProfile) -> list[str]:
    """Human-readable lines for `hw show`."""
    ec = p.echo.hardware or "none"
    if p.echo.hardware and p.echo.optional:
        ec += " (optional module)"
    power_on = p.power_on_line
    if p.linemode_option:
        power_on += f" (change with: options {p.driver} {p.linemode_option}=e1|t1)"
    out = [f"profile:        {p.name}  ({p.source})", f"model:          {p.model}",
           f"vendor:         {p.vendor}", f"driver:         {p.driver} ({p.bus})",
           f"PCI ids:        {', '.join(p.pci_ids) or '-'}",
           f"spans:          {p.spans}  (names like {p.span_label(1)})",
           f"line types:     {', '.join(p.line_types)}; power-on mode {power_on}",
           f"D-channel:      {p.dchannel}", f"echo canceller: {ec}"]
    for line, d in p.defaults.items():
        framing = d.framing or "ccs (PRI) / cas (R2)"
        crc = f", crc4 {'on' if d.crc4 else 'off'}" if line == "E1" else ""
        out.append(f"{line} defaults:    framing {framing}, coding {d.coding}, lbo {d.lbo}{crc}")
    if p.notes:
        out.append(f"notes:          {p.notes}")
    return out


@hw.command("genconf")
@click.argument("profile")
@click.option("--plan", "plan_file", type=_FILE, default=None,
              help="Trunk plan (TOML); default: every span a PRI, clock from span 1.")
@click.option("-o", "--output", type=_FILE, default=None,
              help="Write system.conf here instead of standard output.")
@click.option("--span-config", type=_FILE, default=None,
              help="Also write confcall's span config (TOML) for the daemon here.")
@click.option("--modprobe", type=_FILE, default=None,
              help="Also write the modprobe.d option line here when the card needs one.")
@click.pass_context
def genconf_cmd(ctx: click.Context, profile: str, plan_file: Path | None,
                output: Path | None, span_config: Path | None, modprobe: Path | None) -> None:
    """Generate /etc/dahdi/system.conf for PROFILE from a trunk plan."""
    with _friendly_errors():
        p = load_profile(profile, _profiles_dir(ctx))
        plan = load_plan(plan_file, p) if plan_file else default_plan(p)
        gen = generate(p, plan)
    _write(output, gen.system_conf)
    if span_config:
        span_config.write_text(gen.span_config)
    if gen.modprobe_conf:
        if modprobe:
            modprobe.write_text(gen.modprobe_conf)
        else:
            click.echo(f"note: add to /etc/modprobe.d/dahdi.conf: {gen.modprobe_conf.strip()}",
                       err=True)


@hw.command("detect")
@click.option("--sysfs", "sysfs_root", type=_DIR, default=Path("/sys"), show_default=True,
              help="sysfs root holding bus/dahdi_spans and bus/dahdi_devices.")
@click.option("--proc", "proc_dir", type=_DIR, default=Path("/proc/dahdi"), show_default=True,
              help="Directory of /proc/dahdi/<span> files.")
@click.option("--scan-file", type=_FILE, default=None,
              help="Saved `dahdi_scan` output to read as well.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def detect_cmd(ctx: click.Context, sysfs_root: Path, proc_dir: Path, scan_file: Path | None,
               as_json: bool) -> None:
    """Show the DAHDI devices and spans present, and which profile fits each card."""
    with _friendly_errors():
        report = detect(load_profiles(_profiles_dir(ctx)), sysfs_root, proc_dir, scan_file)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2))
    else:
        _print_report(report, click.echo)
    if not report.spans:
        raise click.ClickException("no DAHDI spans found (is the driver loaded?)")


def _print_report(r: DetectReport, echo: Callable[[str], Any]) -> None:
    echo("sources: " + (", ".join(r.sources) or "none"))
    for d in r.devices:
        match = ", ".join(d.profiles) or "no matching profile"
        echo(f"device {d.id}: {d.manufacturer} {d.type} [{d.pci_id or '?'}] "
             f"{d.span_count or '?'} spans at {d.location or '?'} -> {match}")
    rows = [("SPAN", "NAME", "LINE", "CHANNELS", "CONFIG", "ALARMS", "IN USE", "EC")]
    for s in r.spans:
        chans = "?" if s.basechan is None or not s.channels else \
            f"{s.basechan}-{s.basechan + s.channels - 1}"
        in_use = ec = "-"
        if s.proc:
            in_use = str(sum(c.in_use for c in s.proc.channels))
            ecs = {c.ec for c in s.proc.channels if c.ec}
            ec = ",".join(sorted(ecs)) or "-"
        rows.append((str(s.spanno), s.name, s.line or "?", chans,
                     "/".join(s.lineconfig) or "-", "/".join(s.alarms) or "OK", in_use, ec))
    _table(rows, echo)


def _table(rows: Sequence[tuple[str, ...]], echo: Callable[[str], Any] = click.echo) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def _write(path: Path | None, text: str) -> None:
    if path is None:
        click.echo(text, nl=False)
    else:
        path.write_text(text)
