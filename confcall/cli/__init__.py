"""`confcall`: the NOC's command line. Thin: every command parses, calls into the packages
and prints; one module per command group.

| module | commands |
|---|---|
| `span`, `box` | line status; calls and conferences of the running box |
| `run` | `serve` (the box), `demo` (the box on a simulated card) |
| `hw` | card profiles → DAHDI config, hardware detection |
| `db`, `account`, `card`, `rate`, `cdr` | the money side |
| `prompts` | voice prompts and music |
| `web` | `web` (the site alone), `operator add` (console logins) |
| `booking` | booked conferences and callbacks: `list`, `show`, `cancel` |
| `service` | `install` (user, directories, pepper, systemd unit), `doctor` (what to fix) |
"""
from __future__ import annotations

import click

from .account import account
from .box import calls, conferences
from .card import card
from .cdr import cdr
from .db import db
from .hw import hw
from .prompts import prompts
from .rate import rate
from .run import demo, serve
from .service import doctor, install
from .span import span
from .web import operator, web

__all__ = ["main"]


@click.group()
@click.version_option(package_name="confcall")
def main() -> None:
    """confcall — conference callback over E1/T1 trunks."""


for _command in (span, calls, conferences, serve, demo, hw, db, account, card, rate, cdr,
                 prompts, web, operator, install, doctor):
    main.add_command(_command)

from .booking import booking  # noqa: E402 - issue 12, kept apart from the list above

main.add_command(booking)

from .boxes import box  # noqa: E402 - issue 13 (fleet): `confcall box list|reap`

main.add_command(box)
