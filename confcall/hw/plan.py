"""Trunk plan: what each span of a card is used for (E1 PRI, T1 PRI, E1 MFC/R2).

Why separate from the profile: the same TE420 is a 4×E1 PRI box in one exchange and
2×PRI + 2×R2 in another. The plan holds the per-site choices (signaling, switch type,
clock priority, CRC4 of the carrier's E1, hardware vs software echo canceller, tone zone)
and is validated against the card profile, so a plan can never ask for a span, line type
or echo canceller the card does not have. File format: ``hw_profiles/README.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from confcall.hw._fields import Table, read_toml
from confcall.hw.profile import E1_CODINGS, T1_CODINGS, T1_FRAMINGS, CardProfile

SIGNALINGS = ("pri", "mfcr2")
PRI_SIDES = ("cpe", "net")
# libpri switch types that make sense per line type, named as `confcall serve` names them
# ([[trunk]] switchtype, confcall.dahdi.pri.SWITCH_TYPES): one vocabulary from plan to daemon
SWITCHTYPES = {
    "E1": ("euroisdn_e1", "qsig"),
    "T1": ("ni2", "ni1", "dms100", "4ess", "5ess", "euroisdn_t1", "qsig"),
}
DEFAULT_SWITCHTYPE = {"E1": "euroisdn_e1", "T1": "ni2"}
# names older plans and span configs used (DAHDI's chan_dahdi.conf words): read, never written
SWITCHTYPE_ALIASES = {"E1": {"euroisdn": "euroisdn_e1"},
                      "T1": {"national": "ni2", "euroisdn": "euroisdn_t1"}}


def switchtype_of(t: Table, line: str, default: str | None) -> str:
    """The ``switchtype`` key in the daemon's vocabulary (older DAHDI names accepted)."""
    raw = t.get_str("switchtype", default)
    value: str = SWITCHTYPE_ALIASES[line].get(raw, raw)
    if value not in SWITCHTYPES[line]:
        raise t.error("switchtype", f"{raw!r} is not allowed on {line}",
                      ", ".join(SWITCHTYPES[line]))
    return value
R2_VARIANTS = ("CN", "ITU", "AR", "BR", "CZ", "CO", "EC", "MX", "PH", "VE")
KERNEL_ECS = ("mg2", "kb1", "sec", "sec2", "oslec", "hpec")
# hw: the card's echo canceller; software: confcall's own (dsp/), no kernel EC;
# none: no echo canceller at all; kernel:<name>: a DAHDI software echo canceller module.
EC_CHOICES = ("hw", "software", "none", *(f"kernel:{n}" for n in KERNEL_ECS))
TONEZONES = ("cn", "us", "uk", "gb", "de", "fr", "it", "es", "nl", "be", "ch", "at", "se",
             "no", "dk", "fi", "pl", "cz", "hu", "ru", "tr", "gr", "pt", "il", "in", "jp",
             "tw", "sg", "my", "th", "ph", "au", "nz", "za", "br", "ar", "cl", "mx", "ve",
             "ae", "mo", "hk")


@dataclass(frozen=True)
class SpanPlan:
    """One configured span: all defaults already resolved from the profile."""

    span: int  # 1-based port on the card = DAHDI span number (single card)
    line: str  # E1 | T1
    signaling: str  # pri | mfcr2
    side: str | None  # pri: cpe | net
    switchtype: str | None  # pri only
    r2_variant: str | None  # mfcr2 only
    timing: int  # 0 = we are the clock source; 1, 2, … = priority to take clock from it
    framing: str  # ccs | cas | esf | d4
    coding: str
    crc4: bool
    lbo: int
    echo_canceller: str  # one of EC_CHOICES
    label: str

    @property
    def kind(self) -> str:
        """Human name, e.g. ``E1 PRI`` or ``E1 MFC/R2``."""
        return f"{self.line} {'PRI' if self.signaling == 'pri' else 'MFC/R2'}"


@dataclass(frozen=True)
class TrunkPlan:
    """All spans of one card: `lines` covers every port (numbering), `spans` the used ones."""

    profile: str
    tonezone: str
    lines: tuple[str, ...]
    spans: tuple[SpanPlan, ...]
    source: str

    def span(self, number: int) -> SpanPlan | None:
        return next((s for s in self.spans if s.span == number), None)


_TOP_KEYS = ("profile", "tonezone", "echo_canceller", "line", "crc4", "span")
_SPAN_KEYS = ("span", "line", "signaling", "side", "switchtype", "r2_variant", "timing",
              "framing", "coding", "crc4", "lbo", "echo_canceller", "label")


def load_plan(path: str | Path, profile: CardProfile) -> TrunkPlan:
    """Read and validate a plan file against `profile`."""
    return parse_plan(read_toml(Path(path)), profile)


def default_plan(profile: CardProfile) -> TrunkPlan:
    """Every port as a PRI of the card's first line type, clock from span 1, 2, …

    Why these defaults: the common carrier hand-off is PRI and the carrier is the clock;
    the hardware echo canceller is used when the card has one.
    """
    line = profile.line_types[0]
    table = Table({"span": [{"span": n, "timing": n} for n in range(1, profile.spans + 1)],
                   "line": line}, f"<default plan for {profile.name}>")
    return parse_plan(table, profile)


def parse_plan(t: Table, profile: CardProfile) -> TrunkPlan:
    """Validate a parsed plan table; every error names the file, the key and the choices."""
    t.reject_unknown(_TOP_KEYS)
    name = t.get_str("profile", default=profile.name)
    if name != profile.name:
        raise t.error("profile", f"plan is for {name!r} but profile {profile.name!r} was "
                      "given", profile.name)
    tonezone = t.get_str("tonezone", "cn", TONEZONES)
    ec_default = t.get_str("echo_canceller", _default_ec(profile), EC_CHOICES)
    line_default = t.get_str("line", profile.line_types[0], profile.line_types)
    crc4_default = t.get_bool("crc4", default=None)
    spans = [_parse_span(s, profile, ec_default, line_default, crc4_default)
             for s in t.tables("span")]
    _check_unique(t, spans)
    lines = [line_default] * profile.spans
    for s in spans:
        lines[s.span - 1] = s.line
    _check_linemode(t, profile, lines)
    return TrunkPlan(profile=profile.name, tonezone=tonezone, lines=tuple(lines),
                     spans=tuple(sorted(spans, key=lambda s: s.span)), source=t.source)


def _default_ec(profile: CardProfile) -> str:
    return "hw" if profile.echo.hardware else "software"


def _parse_span(t: Table, profile: CardProfile, ec_default: str, line_default: str,
                crc4_default: bool | None) -> SpanPlan:
    t.reject_unknown(_SPAN_KEYS)
    span = t.get_int("span", lo=1, hi=profile.spans)
    line = t.get_str("line", line_default, profile.line_types)
    signaling = t.get_str("signaling", "pri", SIGNALINGS)
    if signaling == "mfcr2" and line != "E1":
        raise t.error("signaling", "MFC/R2 runs on E1 only", "pri on T1")
    defaults = profile.defaults[line]
    pri = signaling == "pri"
    if line == "E1":
        if t.has("framing"):
            raise t.error("framing", "E1 framing follows the signaling (ccs for PRI, cas "
                          "for MFC/R2); remove the key")
        framing = "ccs" if pri else "cas"
        coding = t.get_str("coding", defaults.coding, E1_CODINGS)
        crc4 = t.get_bool("crc4", defaults.crc4 if crc4_default is None else crc4_default)
    else:
        if t.has("crc4"):
            raise t.error("crc4", "CRC4 exists on E1 only; this span is T1")
        framing = t.get_str("framing", defaults.framing, T1_FRAMINGS)
        coding = t.get_str("coding", defaults.coding, T1_CODINGS)
        crc4 = False
    echo = t.get_str("echo_canceller", ec_default, EC_CHOICES)
    if echo == "hw" and not profile.echo.hardware:
        raise t.error("echo_canceller", f"{profile.model} has no hardware echo canceller",
                      ", ".join(c for c in EC_CHOICES if c != "hw"))
    return SpanPlan(
        span=span, line=line, signaling=signaling,
        side=_pri_only(t, pri, "side", "cpe", PRI_SIDES),
        switchtype=switchtype_of(t, line, DEFAULT_SWITCHTYPE[line]) if pri else
        _pri_only(t, pri, "switchtype", "", ()),
        r2_variant=_r2_only(t, pri), timing=t.get_int("timing", 0, 0, 32), framing=framing,
        coding=coding, crc4=crc4, lbo=t.get_int("lbo", defaults.lbo, 0, 7),
        echo_canceller=echo, label=t.get_str("label", ""),
    )


def _pri_only(t: Table, pri: bool, key: str, default: str,
              choices: tuple[str, ...]) -> str | None:
    if not pri:
        if t.has(key):
            raise t.error(key, "only meaningful for PRI spans; this span is MFC/R2")
        return None
    value: str = t.get_str(key, default, choices)
    return value


def _r2_only(t: Table, pri: bool) -> str | None:
    if pri:
        if t.has("r2_variant"):
            raise t.error("r2_variant", "only meaningful for MFC/R2 spans; this span is PRI")
        return None
    value: str = t.get_str("r2_variant", "CN", R2_VARIANTS)
    return value


def _check_unique(t: Table, spans: list[SpanPlan]) -> None:
    seen: set[int] = set()
    timings: dict[int, int] = {}
    for i, s in enumerate(spans):
        key = f"span[{i}]."
        if s.span in seen:
            raise t.error(key + "span", f"span {s.span} is listed twice")
        seen.add(s.span)
        if s.timing and s.timing in timings:
            raise t.error(key + "timing", f"timing priority {s.timing} is already used by "
                          f"span {timings[s.timing]}", "distinct priorities, or 0")
        if s.timing:
            timings[s.timing] = s.span


def _check_linemode(t: Table, profile: CardProfile, lines: list[str]) -> None:
    """Cards whose driver sets one power-on line mode cannot mix E1 and T1 through it."""
    if profile.power_on_line != "auto" and len(set(lines)) > 1:
        raise t.error("span", f"{profile.model} ({profile.driver}) sets one line mode for "
                      f"all its spans through modprobe; mixed {'/'.join(sorted(set(lines)))} "
                      "needs span-types.conf, which genconf does not write",
                      "one line type for every span")
