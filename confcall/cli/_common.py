"""What several command groups share: asking the running box over its control socket, and
the simulated card's span list (``--sim E1:pri,E1:cas``)."""
from __future__ import annotations

from typing import Any

import click

__all__ = ["ask_box", "from_box", "parse_sim", "socket_option"]


def parse_sim(spec: str) -> list[tuple[str, str]]:
    spans = []
    for part in spec.split(","):
        line, _, sig = part.strip().partition(":")
        line, sig = line.upper(), (sig or "pri").lower()
        if line not in ("E1", "T1") or sig not in ("pri", "cas"):
            raise click.BadParameter(
                f"{part!r}: each span is LINE[:SIGNALLING] with LINE E1|T1 and SIGNALLING "
                "pri|cas, e.g. E1:pri,E1:cas", param_hint="--sim")
        from confcall.dahdi.r2 import line_signalling_error
        why = line_signalling_error(line, sig)
        if why:
            raise click.BadParameter(f"{part.strip()!r}: {why}", param_hint="--sim")
        spans.append((line, sig))
    return spans


def socket_option(f):  # type: ignore[no-untyped-def]
    return click.option("--socket", "socket_path", default=None, metavar="PATH",
                        help="The running box's control socket (default var/confcall.sock).")(f)


def ask_box(socket_path: str | None, cmd: str) -> dict[str, Any] | None:
    """The running box's answer, or None when no box listens there (and none was named)."""
    import os

    from confcall.control_socket import DEFAULT_SOCKET, ask
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


def from_box(socket_path: str | None, cmd: str, as_json: bool) -> list[Any] | None:
    """The running box's list for ``cmd``; printed as JSON (and None returned) with --json."""
    import json
    answer = ask_box(socket_path, cmd)
    if answer is None:
        raise click.ClickException("no running box (no var/confcall.sock); start `confcall "
                                   "serve` or name its --socket")
    if as_json:
        click.echo(json.dumps(answer[cmd], indent=2, ensure_ascii=False))
        return None
    return list(answer[cmd])


class _Quiet:
    """A progress bar that shows nothing: output piped or captured stays one clean answer."""

    def __init__(self, items: Any = None) -> None:
        self._items = items

    def __enter__(self) -> Any:
        return self if self._items is None else iter(self._items)

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def progress(label: str, *, length: int | None = None, items: Any = None) -> Any:
    """A progress bar on stderr for a long job when stderr is a terminal; otherwise nothing
    (scripts and logs get only the command's answer). Use as ``with progress(...) as bar``:
    ``bar.update(n)`` with ``length``, or iterate ``bar`` with ``items``."""
    import sys
    if not sys.stderr.isatty():
        return _Quiet(items)
    if items is not None:
        return click.progressbar(items, label=label, file=sys.stderr)
    return click.progressbar(length=length, label=label, file=sys.stderr)
