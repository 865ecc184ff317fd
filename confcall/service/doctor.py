"""`confcall doctor`: is this box able to serve, and if not, what to fix.

Why: the failures a carrier engineer meets on a new server — DAHDI not loaded, system.conf
not applied, a span config that does not match the card, a database never upgraded, a
pepper readable by anyone, an unwritable numba cache, prompts never rendered — each get one
line naming what is wrong and the command that fixes it, instead of a box that does not
start. Each check is a pure function of paths (the tests point them at a simulated box).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Check", "Paths", "run_checks"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warning: bool = False  # not fatal: the box starts, but something is worth knowing


@dataclass(frozen=True)
class Paths:
    modules: Path = Path("/proc/modules")
    dev: Path = Path("/dev/dahdi")
    proc: Path = Path("/proc/dahdi")
    numba: Path | None = None  # default: $NUMBA_CACHE_DIR


def run_checks(config: Any, paths: Paths = Paths()) -> list[Check]:
    """Every check, in the order a box needs them (a config that did not load is checked by
    the caller)."""
    out = [_modules(paths), _devices(paths)]
    out += _spans(config, paths)
    out += [_database(config), _pepper(), _numba(paths), _prompts(config)]
    out.append(_free_channels(config))
    out.append(_pending_writes(config))
    return out


def _modules(p: Paths) -> Check:
    try:
        loaded = {line.split()[0] for line in p.modules.read_text().splitlines() if line}
    except OSError as e:
        return Check("dahdi modules", False, f"cannot read {p.modules}: {e.strerror}",
                     "run doctor on the box itself (not in a container without /proc)")
    dahdi = sorted(m for m in loaded if m == "dahdi" or m.startswith(("dahdi_", "wct", "wcte",
                                                                       "wcb", "wanpipe")))
    if "dahdi" not in loaded:
        return Check("dahdi modules", False, "the dahdi kernel module is not loaded",
                     "install dahdi-linux for this kernel (dahdi-source + module-assistant or "
                     "DKMS), then `modprobe dahdi` and the card's driver (`confcall hw "
                     "detect` names it)")
    return Check("dahdi modules", True, "loaded: " + ", ".join(dahdi))


def _devices(p: Paths) -> Check:
    missing = [n for n in ("ctl", "channel") if not (p.dev / n).exists()]
    if missing:
        return Check("dahdi devices", False, f"{p.dev}/{missing[0]} is missing",
                     "load the card's driver and check udev created /dev/dahdi")
    if not os.access(p.dev / "channel", os.R_OK | os.W_OK):
        return Check("dahdi devices", False, f"{p.dev}/channel is not read-writable by "
                     "this user", "run as the confcall user (group dahdi)")
    return Check("dahdi devices", True, f"{p.dev}/ctl and {p.dev}/channel present")


def _spans(config: Any, p: Paths) -> list[Check]:
    if config.simulated:
        return [Check("span config", True, "simulated card ([hardware] simulated = true)")]
    from confcall.hw import HwConfigError, load_span_config
    from confcall.hw.procfs import read_proc_dir
    if not config.span_config:
        return [Check("span config", False, "no [hardware] span_config in the config",
                      "confcall hw genconf PROFILE -o /etc/dahdi/system.conf --span-config "
                      "/etc/confcall/spans.toml, then set [hardware] span_config")]
    try:
        spanconf = load_span_config(config.span_config)
    except HwConfigError as e:
        return [Check("span config", False, str(e), "regenerate it with `confcall hw genconf`")]
    try:
        proc = {s.spanno: s for s in read_proc_dir(p.proc)}
    except (OSError, HwConfigError) as e:
        return [Check("span config", False, f"cannot read {p.proc}: {e}",
                      "load DAHDI and run `dahdi_cfg -vv`")]
    out = []
    for s in spanconf.spans:
        name = f"span {s.spanno}"
        ps = proc.get(s.spanno)
        if ps is None:
            out.append(Check(name, False, f"in the span config but not in {p.proc}",
                             "run `dahdi_cfg -vv` with the system.conf genconf wrote; check "
                             "the card is detected (`confcall hw detect`)"))
            continue
        chans = {c.channo: c for c in ps.channels}
        want = {c: ("CAS" if not s.is_pri else "Clear") for c in s.channels}
        if s.dchannel:
            want[s.dchannel] = "HDLC"
        wrong = [c for c, sig in sorted(want.items())
                 if c not in chans or sig.lower() not in chans[c].sigtype.lower()]
        if wrong:
            got = chans[wrong[0]].sigtype if wrong[0] in chans else "absent"
            out.append(Check(name, False, f"channel {wrong[0]} is {got or 'unconfigured'} in "
                             f"{p.proc}, the span config wants {want[wrong[0]]} "
                             f"({len(wrong)} channel(s) differ)",
                             "apply system.conf with `dahdi_cfg -vv` (or regenerate both "
                             "files from one plan)"))
            continue
        alarms = [a for a in ps.alarms if a != "OK"]
        out.append(Check(name, True, f"{len(s.channels)} channels as configured"
                         + (f"; alarms: {' '.join(alarms)}" if alarms else "; no alarms"),
                         "check the cable and the carrier's side" if alarms else "",
                         warning=bool(alarms)))
    return out


def _database(config: Any) -> Check:
    from alembic.script import ScriptDirectory

    from confcall.store.migrate import alembic_config, current
    url = config.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return Check("database", False, f"{url}: no such database file",
                     f"confcall db upgrade --db '{url}'")
    try:
        have = current(url)
    except Exception as e:  # noqa: BLE001 - any failure to connect is the finding
        return Check("database", False, f"{_safe(url)}: {type(e).__name__}: {e}",
                     "check [database] url and that the server is reachable")
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if have != head:
        return Check("database", False, f"{_safe(url)} is at revision {have or 'none'}, this "
                     f"confcall needs {head}", f"confcall db upgrade --db '{_safe(url)}'")
    return Check("database", True, f"{_safe(url)} at revision {head}")


def _safe(url: str) -> str:
    """The URL without a password."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown as is
        return url


def _pepper() -> Check:
    if os.environ.get("CONFCALL_PEPPER"):
        return Check("pepper", True, "from $CONFCALL_PEPPER")
    from confcall.rating.pepper import default_path, find
    named = os.environ.get("CONFCALL_PEPPER_FILE")
    path = Path(named) if named else (find() or default_path())
    if not path.is_file():
        return Check("pepper", False, f"{path} does not exist",
                     "confcall install (creates it once; never replace it: PINs depend on it)")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        return Check("pepper", False, f"{path} has mode {mode:o}: others can read it",
                     f"chmod 600 {path}")
    if not path.read_text().strip():
        return Check("pepper", False, f"{path} is empty", "restore it from the backup")
    return Check("pepper", True, f"{path} (mode {mode:o})")


def _numba(p: Paths) -> Check:
    d = p.numba or Path(os.environ.get("NUMBA_CACHE_DIR") or ".cache/numba")
    if not d.is_dir():
        return Check("numba cache", False, f"{d} does not exist",
                     "confcall install (or set NUMBA_CACHE_DIR to a writable directory)")
    if not os.access(d, os.W_OK):
        return Check("numba cache", False, f"{d} is not writable: kernels would compile at "
                     "every start", f"chown confcall {d}")
    n = sum(1 for _ in d.rglob("*.nbi"))
    if n == 0:
        return Check("numba cache", True, f"{d} is empty: the first start compiles the "
                     "media kernels (minutes)", warning=True)
    return Check("numba cache", True, f"{d}: {n} compiled kernel index(es)")


def _prompts(config: Any) -> Check:
    from confcall.prompts import PromptLibrary
    lib = PromptLibrary(config.language, config.prompt_directory or None)
    missing = [k for k in lib.keys() if lib.source(k) is None]
    if missing:
        return Check("prompts", True, f"{len(missing)} of {len(lib.keys())} {config.language} "
                     f"prompts not rendered yet (e.g. {missing[0]}): serve renders them at "
                     "start", "confcall prompts build (ahead of the first start)",
                     warning=True)
    return Check("prompts", True, f"all {len(lib.keys())} {config.language} prompts present "
                 f"in {lib.directory}")


def _free_channels(config: Any) -> Check:
    from confcall.control_socket import ask
    path = config.control_socket
    if not path or not os.path.exists(path):
        return Check("free channels", True, "no running box to ask (serve not running)",
                     warning=True)
    try:
        answer = ask(path, "span_status")
    except OSError as e:
        return Check("free channels", False, f"{path}: {e}", "is `confcall serve` running?")
    trunks = (answer.get("trunks") or {}).values()
    free = sum(int(t.get("free_channels", 0)) for t in trunks)
    return Check("free channels", free > 0, f"{free} free channel(s) on {len(trunks)} span(s)",
                 "" if free else "every channel busy or every span down: `confcall span "
                 "status`")


def _pending_writes(config: Any) -> Check:
    """The running box's money/record writes waiting for the database (issue 13): a warning
    while the database refuses them (they are retried; a box stopped now leaves its legs to
    the next start's recovery)."""
    from confcall.control_socket import ask
    path = config.control_socket
    if not path or not os.path.exists(path):
        return Check("pending writes", True, "no running box to ask (serve not running)",
                     warning=True)
    try:
        w = ask(path, "span_status").get("writes")
    except OSError as e:
        return Check("pending writes", False, f"{path}: {e}", "is `confcall serve` running?")
    if w is None:
        return Check("pending writes", True, "the box does not report its writes", warning=True)
    if w.get("failing"):
        return Check("pending writes", True, f"{w.get('pending', 0)} money/record write(s) "
                     "waiting: the database refuses them (retried)",
                     "check the database (`confcall doctor` database line, its server's log); "
                     "do not stop the box until they are written", warning=True)
    return Check("pending writes", True, f"{w.get('pending', 0)} money/record write(s) "
                 "pending, the database takes them")
