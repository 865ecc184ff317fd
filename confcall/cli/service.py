"""`confcall install` (user, directories, pepper, config, systemd unit) and `confcall doctor`
(is this box able to serve; what to fix)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

__all__ = ["doctor", "install"]


@click.command()
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("/"),
              show_default=True, help="Install under this directory instead of / (a chroot "
              "or image being prepared; the tests use a scratch directory).")
@click.option("--no-user", is_flag=True, help="Do not create the confcall system user.")
def install(root: Path, no_user: bool) -> None:
    """Prepare this server for `confcall serve` under systemd: the confcall user (in group
    dahdi), /etc/confcall (config, mode 0640; the PIN pepper, mode 0600), /var/lib/confcall
    (working directory, numba cache) and confcall.service. Safe to run again: what is already
    right is kept, the pepper and an edited config are never replaced."""
    from confcall.service.install import install as do_install
    try:
        rep = do_install(root, executable=_executable(), create_user=not no_user)
    except (OSError, RuntimeError) as e:
        raise click.ClickException(str(e)) from e
    for line in rep.done:
        click.echo(f"done: {line}")
    click.echo(f"{len(rep.kept)} item(s) already in place" + ("" if rep.changed else
                                                              "; nothing to do"))
    if rep.changed and str(root) == "/":
        click.echo("next: confcall hw genconf PROFILE -o /etc/dahdi/system.conf --span-config "
                   "/etc/confcall/spans.toml; dahdi_cfg -vv; confcall doctor -c "
                   "/etc/confcall/confcall.toml; systemctl daemon-reload; systemctl enable "
                   "--now confcall")


def _executable() -> str:
    import shutil
    here = Path(sys.argv[0])
    if here.name == "confcall" and here.exists():
        return str(here.resolve())
    beside = Path(sys.executable).parent / "confcall"  # the script of this environment
    if beside.is_file():
        return str(beside)
    return shutil.which("confcall") or "/usr/local/bin/confcall"


@click.command()
@click.option("--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
              help="The box's TOML config (default: built-in defaults).")
@click.option("--proc", "proc_dir", type=click.Path(path_type=Path), default=Path("/proc/dahdi"),
              show_default=True, help="Where DAHDI's per-span status files are.")
@click.option("--dev", "dev_dir", type=click.Path(path_type=Path), default=Path("/dev/dahdi"),
              show_default=True, help="Where DAHDI's device nodes are.")
@click.option("--modules", "modules_file", type=click.Path(path_type=Path),
              default=Path("/proc/modules"), show_default=True,
              help="The kernel's list of loaded modules.")
def doctor(config_path: str | None, proc_dir: Path, dev_dir: Path, modules_file: Path) -> None:
    """Check that this box can serve: DAHDI modules and devices, the span config against
    /proc/dahdi, the database's migration state, the pepper, the numba cache, the prompts
    and free channels. Prints what to fix; exits 1 when anything must be fixed."""
    from confcall.config import Config, ConfigError, load_config
    from confcall.service.doctor import Paths, run_checks
    try:
        cfg = load_config(config_path) if config_path else Config()
    except ConfigError as e:
        click.echo(f"FAIL config: {e}")
        raise SystemExit(1) from e
    checks = run_checks(cfg, Paths(modules=modules_file, dev=dev_dir, proc=proc_dir))
    bad = 0
    for c in checks:
        tag = "ok  " if c.ok and not c.warning else "warn" if c.ok else "FAIL"
        click.echo(f"{tag} {c.name}: {c.detail}")
        if c.fix and (not c.ok or c.warning):
            click.echo(f"     fix: {c.fix}")
        bad += not c.ok
    click.echo(f"{bad} problem(s)" if bad else "all checks passed")
    if bad:
        raise SystemExit(1)
