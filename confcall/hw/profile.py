"""Card profiles: what one E1/T1 card model can do, read from ``hw_profiles/<name>.toml``.

Why data files and not code: a new card model (or a corrected PCI id) should be a reviewed
TOML change, not a release. The profile says what the *hardware and its driver* offer
(spans, E1/T1, how the D-channel is carried, which echo canceller module, which line mode
the driver powers up in); what we *do* with the spans lives in the trunk plan
(`confcall.hw.plan`). Every bad value raises `HwConfigError` naming file, key and choices.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from confcall.hw._fields import Table, read_toml
from confcall.hw.errors import HwConfigError, ProfileNotFound

ENV_PROFILES = "CONFCALL_HW_PROFILES"
LINE_TYPES = ("E1", "T1")
DCHANNEL_MODES = ("hardhdlc", "dchan")
# HARDWARE.md: only these drivers do real hardware HDLC; the rest need dchan=.
HARDHDLC_DRIVERS = ("wct4xxp", "wcb4xxp")
BUSES = ("pci", "usb")
E1_CODINGS = ("hdb3", "ami")
T1_CODINGS = ("b8zs", "ami")
T1_FRAMINGS = ("esf", "d4")
# DAHDI echo canceller names usable in system.conf `echocanceller=` lines.
HW_EC_NAMES = ("hwec",)
_PCI_ID = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{4}$")
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


@dataclass(frozen=True)
class LineDefaults:
    """Line settings a span of this card gets unless the trunk plan says otherwise.

    E1 framing is not here on purpose: it follows the signaling (ccs for PRI, cas for R2).
    """

    framing: str  # T1: esf | d4; E1: "" (decided by signaling)
    coding: str
    crc4: bool  # E1 only; always False for T1
    lbo: int


@dataclass(frozen=True)
class EchoCancellerSpec:
    """The card's hardware echo canceller, if it has (or may have) one."""

    hardware: str | None  # module name as the driver reports it, e.g. "VPMOCT128"
    dahdi_name: str  # name for `echocanceller=<name>,<chans>` selecting the hardware EC
    optional: bool  # an add-on module: a card of this model may lack it


@dataclass(frozen=True)
class CardProfile:
    """One card model. `name` is the file stem and the id users type (``te420``)."""

    name: str
    model: str
    vendor: str
    driver: str
    bus: str
    pci_ids: tuple[str, ...]
    device_types: tuple[str, ...]
    spans: int
    span_name: str
    dchannel: str
    line_types: tuple[str, ...]
    power_on_line: str  # "auto" (jumper / autodetect) or the line type the driver starts in
    linemode_option: str | None  # modprobe parameter that changes the power-on line type
    defaults: Mapping[str, LineDefaults]
    echo: EchoCancellerSpec
    notes: str
    source: str

    def span_label(self, port: int, card: int = 0) -> str:
        """The DAHDI span name the driver will give this port (1-based), for comments."""
        return self.span_name.format(card=card, port=port)

    def needs_linemode_option(self, line: str) -> bool:
        """True when the driver starts in another line type and needs a modprobe option."""
        return self.power_on_line not in ("auto", line)


def profiles_dir() -> Path:
    """Where profiles live: $CONFCALL_HW_PROFILES, else ``<repo>/hw_profiles``."""
    override = os.environ.get(ENV_PROFILES)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "hw_profiles"


def available_profiles(directory: Path | None = None) -> list[str]:
    """Profile names (file stems) in the directory, sorted."""
    root = directory or profiles_dir()
    return sorted(p.stem for p in root.glob("*.toml"))


def load_profile(name_or_path: str | Path, directory: Path | None = None) -> CardProfile:
    """Load a profile by name (``te420``) or by path to a ``.toml`` file."""
    path = Path(name_or_path)
    if path.suffix != ".toml" or not path.exists():
        root = directory or profiles_dir()
        path = root / f"{name_or_path}.toml"
        if not path.exists():
            names = available_profiles(root)
            raise ProfileNotFound(root, "", f"no profile named {str(name_or_path)!r}",
                                  ", ".join(names) or "none found")
    return parse_profile(read_toml(path), path.stem)


def load_profiles(directory: Path | None = None) -> list[CardProfile]:
    """All profiles of the directory; the first broken one raises."""
    root = directory or profiles_dir()
    return [load_profile(root / f"{n}.toml") for n in available_profiles(root)]


_TOP_KEYS = ("model", "vendor", "driver", "bus", "pci_ids", "device_types", "spans",
             "span_name", "dchannel", "notes", "line", "echo_canceller")


def parse_profile(t: Table, name: str) -> CardProfile:
    """Validate a parsed profile table and build the CardProfile."""
    if not _NAME.match(name):
        raise HwConfigError(t.source, "", f"profile file name {name!r} is not a valid id",
                            "lower-case letters, digits, '-' and '_'")
    t.reject_unknown(_TOP_KEYS)
    driver = t.get_str("driver")
    if not _IDENT.match(driver):
        raise t.error("driver", f"{driver!r} is not a kernel module name")
    dchannel = t.get_str("dchannel", choices=DCHANNEL_MODES)
    if dchannel == "hardhdlc" and driver not in HARDHDLC_DRIVERS:
        raise t.error("dchannel", f"driver {driver} has no hardware HDLC; use dchan",
                      "hardhdlc only with " + ", ".join(HARDHDLC_DRIVERS))
    pci_ids = t.get_str_list("pci_ids", default=())
    for pid in pci_ids:
        if not _PCI_ID.match(pid):
            raise t.error("pci_ids", f"{pid!r} is not a PCI id",
                          "vvvv:dddd in lower-case hex, e.g. d161:0420")
    bus = t.get_str("bus", default="pci", choices=BUSES)
    if bus == "pci" and not pci_ids:
        raise t.error("pci_ids", "a PCI card needs at least one PCI id")
    spans = t.get_int("spans", lo=1, hi=32)
    span_name = t.get_str("span_name")
    try:
        span_name.format(card=0, port=1)
    except (KeyError, IndexError, ValueError):
        raise t.error("span_name", f"{span_name!r} has an unknown placeholder",
                      "{card} and {port}") from None
    line_types, power_on, option, defaults = _parse_line(t.table("line", required=True))
    return CardProfile(
        name=name, model=t.get_str("model"), vendor=t.get_str("vendor"), driver=driver,
        bus=bus, pci_ids=pci_ids, device_types=t.get_str_list("device_types", default=()),
        spans=spans, span_name=span_name, dchannel=dchannel, line_types=line_types,
        power_on_line=power_on, linemode_option=option, defaults=defaults,
        echo=_parse_echo(t.table("echo_canceller")), notes=t.get_str("notes", default=""),
        source=t.source,
    )


def _parse_line(t: Table) -> tuple[tuple[str, ...], str, str | None, dict[str, LineDefaults]]:
    t.reject_unknown(("types", "power_on", "modprobe_option", *LINE_TYPES))
    types = t.get_str_list("types", choices=LINE_TYPES)
    if not types:
        raise t.error("types", "at least one line type is needed", ", ".join(LINE_TYPES))
    power_on = t.get_str("power_on", default="auto", choices=("auto", *types))
    option = t.get_str("modprobe_option", default=None)
    if power_on != "auto" and option is None:
        raise t.error("modprobe_option", f"the driver starts in {power_on} mode, so the "
                      "module parameter that changes it must be named",
                      "e.g. default_linemode")
    if option is not None and not _IDENT.match(option):
        raise t.error("modprobe_option", f"{option!r} is not a module parameter name")
    defaults = {}
    for line in types:
        defaults[line] = _parse_defaults(t.table(line, required=True), line)
    for line in LINE_TYPES:
        if line not in types and t.has(line):
            raise t.error(line, f"defaults for {line}, which is not in types", ", ".join(types))
    return types, power_on, option, defaults


def _parse_defaults(t: Table, line: str) -> LineDefaults:
    if line == "E1":
        t.reject_unknown(("coding", "crc4", "lbo"))
        return LineDefaults(framing="", coding=t.get_str("coding", "hdb3", E1_CODINGS),
                            crc4=t.get_bool("crc4", True), lbo=t.get_int("lbo", 0, 0, 7))
    t.reject_unknown(("framing", "coding", "lbo"))
    return LineDefaults(framing=t.get_str("framing", "esf", T1_FRAMINGS),
                        coding=t.get_str("coding", "b8zs", T1_CODINGS), crc4=False,
                        lbo=t.get_int("lbo", 0, 0, 7))


def _parse_echo(t: Table) -> EchoCancellerSpec:
    t.reject_unknown(("hardware", "dahdi_name", "optional"))
    hardware = t.get_str("hardware", default=None)
    if hardware == "":
        hardware = None
    return EchoCancellerSpec(hardware=hardware,
                             dahdi_name=t.get_str("dahdi_name", "hwec", HW_EC_NAMES),
                             optional=t.get_bool("optional", True))
