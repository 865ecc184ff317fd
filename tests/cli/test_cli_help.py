"""A CLI without traps: every command and option explains itself; a fresh database works
after `db upgrade` alone; negative amounts need no `--`; the two "unlocks" point at each
other."""
import click
from click.testing import CliRunner

from confcall.cli import main


def _walk(cmd, path):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from _walk(sub, [*path, name])


def test_every_command_and_option_has_help():
    missing = []
    commands = list(_walk(main, ["confcall"]))
    for path, cmd in commands:
        if not (cmd.help or "").strip():
            missing.append(" ".join(path))
        missing += [f"{' '.join(path)} --{p.name}" for p in cmd.params
                    if isinstance(p, click.Option) and not p.help and not p.hidden
                    and p.name not in ("help", "version")]
        r = CliRunner().invoke(main, [*path[1:], "--help"])
        assert r.exit_code == 0 and "Usage:" in r.output, path
    assert len(commands) > 60
    assert missing == []


def test_unlock_and_unblock_explain_each_other():
    def text(*args):  # help text, rewrapped to one line
        return " ".join(CliRunner().invoke(main, [*args, "--help"]).output.split())
    unlock, unblock = text("account", "unlock"), text("card", "unblock")
    assert "card unblock" in unlock and "account unlock" in unblock


def test_fresh_database_after_db_upgrade_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFCALL_PEPPER", "p" * 64)
    url = f"sqlite:///{tmp_path}/fresh.db"
    run = CliRunner().invoke
    up = run(main, ["db", "--db", url, "upgrade"])
    assert up.exit_code == 0 and "loaded rate plan 'default'" in up.output
    created = run(main, ["account", "--db", url, "create", "13800138000", "--pin", "482913"])
    assert created.exit_code == 0, created.output
    assert run(main, ["account", "--db", url, "adjust", "13800138000", "900", "--reference",
                      "r1", "--note", "opening"]).exit_code == 0
    debit = run(main, ["account", "--db", url, "adjust", "13800138000", "-500", "--reference",
                       "r2", "--note", "correction"])
    assert debit.exit_code == 0, debit.output
    bal = run(main, ["account", "--db", url, "balance", "13800138000"])
    assert "400 fen" in bal.output
    export = run(main, ["rate", "--db", url, "export", "default"])
    assert export.exit_code == 0 and export.output.startswith("match,")
    again = run(main, ["db", "--db", url, "upgrade"])  # seeded once, not twice
    assert again.exit_code == 0 and "seeded" not in again.output


def test_account_create_without_areas_names_seed_areas(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFCALL_PEPPER", "p" * 64)
    url = f"sqlite:///{tmp_path}/bare.db"
    run = CliRunner().invoke
    from confcall.store import upgrade
    upgrade(url)  # the schema alone, as a database migrated before `db upgrade` seeded
    r = run(main, ["account", "--db", url, "create", "13800138000", "--pin", "482913"])
    assert r.exit_code == 1 and "confcall rate seed-areas" in r.output

