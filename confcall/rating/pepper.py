"""Where the PIN pepper lives, and creating it safely.

The pepper keys every PIN hash (``secrets_``): a stolen database is useless for an offline
search without it.  So it must not travel with the database: by default it is *not* in the
database's directory (``var/``) but in ``/etc/confcall/pepper`` when running as root (the
systemd service) or ``~/.config/confcall/pepper`` otherwise, created once with mode 0600 in a
0700 directory.  A carrier's secret store can supply it instead (``CONFCALL_PEPPER`` or
``CONFCALL_PEPPER_FILE``).

Boxes installed before issue 14 have ``var/confcall.pepper``: it keeps being used (changing
the pepper would invalidate every PIN) with a warning saying where to move it.
"""
from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

__all__ = ["LEGACY_PATH", "default_path", "ensure", "find", "write_new"]

log = logging.getLogger("confcall.pepper")

LEGACY_PATH = Path("var") / "confcall.pepper"


def default_path(euid: int | None = None, home: str | None = None) -> Path:
    """``/etc/confcall/pepper`` for root, else ``~/.config/confcall/pepper``."""
    if (os.geteuid() if euid is None else euid) == 0:
        return Path("/etc/confcall/pepper")
    base = Path(home or os.path.expanduser("~"))
    return base / ".config" / "confcall" / "pepper"


def find(default: Path | None = None) -> Path | None:
    """The pepper file to read when the environment names none: the default path if it
    exists, else a pre-issue-14 ``var/confcall.pepper`` (with a warning), else None."""
    path = default or default_path()
    if path.exists():
        _warn_if_open(path)
        return path
    if LEGACY_PATH.exists():
        log.warning("PIN pepper read from %s, beside the database: move it to %s (mode 0600) "
                    "so a copy of var/ is not enough to attack the PINs", LEGACY_PATH, path)
        _warn_if_open(LEGACY_PATH)
        return LEGACY_PATH
    return None


def _warn_if_open(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("PIN pepper %s is readable by others (mode %o): chmod 600 it", path, mode)


def write_new(path: Path) -> Path:
    """Create a new random pepper at ``path`` (0600; its directory 0700 when created here).
    Never overwrites: FileExistsError if it is there."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_hex(32))
    os.chmod(path, 0o600)  # whatever the umask
    return path


def ensure(var_dir: str | None = None) -> str:
    """The pepper for a starting service: the environment's when set, else the existing file
    (``find``), else a new one at the default path (or in ``var_dir`` when a caller names
    one explicitly: the throwaway demo).  Exports ``CONFCALL_PEPPER_FILE`` so every process
    the service starts and every ``secrets_`` call uses the same one.  Returns its origin."""
    if os.environ.get("CONFCALL_PEPPER") or os.environ.get("CONFCALL_PEPPER_FILE"):
        return "environment"
    if var_dir is not None:
        path = Path(var_dir) / "confcall.pepper"
        if not path.exists():
            write_new(path)
    else:
        path = find() or write_new(default_path())
    os.environ["CONFCALL_PEPPER_FILE"] = str(path.resolve())
    return str(path)
