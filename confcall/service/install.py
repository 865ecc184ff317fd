"""`confcall install`: the user, directories, numba cache, pepper, config and unit of a box.

Why a command: a carrier engineer installing on a server with a card must get the modes
right the first time (the pepper readable by the service only, the config readable by it but
writable by root, the numba cache writable so kernels compile once), and must be able to
run the step again after an upgrade without losing the pepper or an edited config. Every
step checks before it acts: a second run changes nothing and says so.

``root`` is the file-system root to install under ("/" on a real box; a scratch directory in
tests); ownership is set only when running as root.
"""
from __future__ import annotations

import grp
import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from confcall.service import unit_text

__all__ = ["Layout", "InstallReport", "install", "CONFIG_TEMPLATE"]

USER = "confcall"


@dataclass(frozen=True)
class Layout:
    """Where a box keeps its files (paths inside the target root)."""

    etc: str = "/etc/confcall"
    home: str = "/var/lib/confcall"  # the service's working directory
    unit: str = "/etc/systemd/system/confcall.service"

    @property
    def var(self) -> str:
        return f"{self.home}/var"  # database, prompts, control socket

    @property
    def numba(self) -> str:
        return f"{self.home}/numba"

    @property
    def pepper(self) -> str:
        return f"{self.etc}/pepper"  # never beside the database (confcall.rating.pepper)

    @property
    def config(self) -> str:
        return f"{self.etc}/confcall.toml"


CONFIG_TEMPLATE = """# confcall's configuration (docs/configuration.md lists every key).
# Written once by `confcall install`; yours to edit: a later install never overwrites it.

[database]
url = "sqlite:///{var}/confcall.db"      # or postgresql://user@host/confcall

[hardware]
span_config = "{etc}/spans.toml"   # write it: confcall hw genconf PROFILE --span-config ...

[prompts]
directory = "{var}/prompts"

[control]
socket = "{var}/confcall.sock"

[log]
level = "info"
format = "keyvalue"

[metrics]
port = 9464
bind = "127.0.0.1"
"""


@dataclass
class InstallReport:
    done: list[str] = field(default_factory=list)  # what this run changed
    kept: list[str] = field(default_factory=list)  # what was already right

    @property
    def changed(self) -> bool:
        return bool(self.done)


def install(root: str | Path = "/", *, executable: str | None = None,
            layout: Layout = Layout(), create_user: bool = True) -> InstallReport:
    """Create what the box needs under ``root``; idempotent."""
    root = Path(root)
    rep = InstallReport()
    am_root = os.geteuid() == 0
    if create_user:
        _user(root, rep)
    uid, gid = _ids(root) if am_root else (-1, -1)

    def at(path: str) -> Path:
        return root / path.lstrip("/")

    def own(path: Path, mode: int, owner: tuple[int, int]) -> None:
        st = path.stat()
        if st.st_mode & 0o7777 != mode:
            path.chmod(mode)
            rep.done.append(f"mode {mode:o} on {path}")
        if am_root and owner[0] >= 0 and (st.st_uid, st.st_gid) != owner:
            os.chown(path, *owner)
            rep.done.append(f"owner of {path}")

    service, root_group = (uid, gid), (0, gid)
    for path, mode, owner in ((layout.etc, 0o750, root_group), (layout.home, 0o750, service),
                              (layout.var, 0o750, service), (layout.numba, 0o750, service)):
        p = at(path)
        if p.is_dir():
            rep.kept.append(str(p))
        else:
            p.mkdir(parents=True)
            rep.done.append(f"created {p}")
        own(p, mode, owner)
    pepper = at(layout.pepper)  # /etc/confcall is created above (0750 root:confcall)
    if pepper.exists():
        rep.kept.append(f"{pepper} (the pepper is never replaced: PINs depend on it)")
    else:
        fd = os.open(pepper, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        rep.done.append(f"created {pepper}")
    own(pepper, 0o600, service)
    config = at(layout.config)
    if config.exists():
        rep.kept.append(f"{config} (yours: not overwritten)")
    else:
        config.write_text(CONFIG_TEMPLATE.format(var=layout.var, etc=layout.etc))
        rep.done.append(f"created {config}")
    own(config, 0o640, root_group)
    exe = executable or shutil.which("confcall") or "/usr/local/bin/confcall"
    unit = at(layout.unit)
    text = unit_text(exe)
    if unit.exists() and unit.read_text() == text:
        rep.kept.append(str(unit))
    else:
        unit.parent.mkdir(parents=True, exist_ok=True)
        unit.write_text(text)
        rep.done.append(f"wrote {unit} (run `systemctl daemon-reload`)")
    own(unit, 0o644, (0, 0))
    return rep


def _user(root: Path, rep: InstallReport) -> None:
    """The system user ``confcall`` (group confcall, in group dahdi when it exists)."""
    passwd = root / "etc/passwd"
    known = passwd.is_file() and any(line.split(":", 1)[0] == USER
                                     for line in passwd.read_text().splitlines())
    if known:
        rep.kept.append(f"user {USER}")
        return
    cmd = ["useradd", "--system", "--home-dir", Layout.home, "--no-create-home",
           "--shell", "/usr/sbin/nologin", "--user-group", USER]
    if str(root) != "/":
        cmd[1:1] = ["--prefix", str(root)]
    group = root / "etc/group"
    if group.is_file() and any(line.startswith("dahdi:") for line in group.read_text()
                               .splitlines()):
        cmd[-1:-1] = ["--groups", "dahdi"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"useradd failed ({r.returncode}): {r.stderr.strip()}")
    rep.done.append(f"created user {USER}")


def _ids(root: Path) -> tuple[int, int]:
    """The service user's uid and gid, read from the target root's files."""
    if str(root) == "/":
        try:
            return pwd.getpwnam(USER).pw_uid, grp.getgrnam(USER).gr_gid
        except KeyError:
            return -1, -1
    for line in (root / "etc/passwd").read_text().splitlines() \
            if (root / "etc/passwd").is_file() else []:
        parts = line.split(":")
        if parts[0] == USER:
            return int(parts[2]), int(parts[3])
    return -1, -1
