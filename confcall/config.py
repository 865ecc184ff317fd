"""`confcall serve`'s configuration file (TOML), validated up front.

Why strict: a carrier box misconfigured at 3 a.m. must refuse to start with a message that
names the file, the key and what is allowed — not fail on the first call. Unknown keys are
errors too (a typo must not silently fall back to a default).

Example (every key optional; these are the defaults)::

    [box]
    id = ""                            # this box's name in every reference it writes (several
                                       # boxes share one database); "" = the host name

    [database]
    url = "sqlite:///var/confcall.db"  # or postgresql://user:password@host/db (psycopg 3)
    write_journal = "var/confcall-writes.journal"  # money/record writes that wait for the
                    # database are fsync'ed here first and replayed at the next start if the
                    # box dies before the database is back (docs/durability.md); "" = off

    [hardware]
    simulated = false                  # true: the simulated card (demo, tests)
    sim_spans = ["E1:pri", "E1:pri"]   # the simulated card's spans
    span_config = "/etc/confcall/spans.toml"   # from `confcall hw genconf` (real cards)

    [[trunk]]                          # one per span; spans not listed are not used
    span = 1                           # the DAHDI span number this entry is about
    signalling = ""                    # "" = as the span is configured | pri | r2 (a check)
    switchtype = "euroisdn_e1"         # PRI: euroisdn_e1 | euroisdn_t1 | ni2 | 5ess | dms100 ...
    reject_cause = 16                  # PRI: the on-hook rejection's cause: 16, 17 or 21
    r2_variant = ""                    # MFC/R2: "" = the span config's (else CN) | CN | ITU | ...
    r2_reject = "busy"                 # MFC/R2 access-number refusal (docs/r2.md):
                                       #   busy | unallocated: Group-B signal, free, no prompt
                                       #   no_charge: accept "free, no charge", prompt, clear
    r2_category = "national_subscriber"  # MFC/R2: our calling-party category on callbacks
    r2_max_ani = 20                    # MFC/R2: calling-number digits collected at most
    r2_max_dnis = 20                   # MFC/R2: dialled digits collected at most
    r2_answer_timeout_s = 60.0         # MFC/R2: an accepted callback nobody answers (cause 19)

    [fleet]                            # boxes sharing one database (docs/durability.md)
    heartbeat_s = 15.0                 # each box writes "alive at" into the boxes table this
                                       # often; 1..3600
    dead_after_s = 300.0               # a box not seen this long is lost: a live box closes
                                       # its open calls at their last interim record, rates
                                       # them and releases their credit; at least 3 x
                                       # heartbeat_s, 2 x booking.lease_s, 2 x
                                       # accounting.interim_s (unset: 300 or those minimums)

    [pri]                              # libpri on every PRI span (docs/resilience.md)
    t309_ms = 6000                     # Q.931 T309: answered calls outlive a D-channel that
                                       # went down (a Q.921 reset) by 4 s of re-establishment
                                       # + this, then are cleared with cause 27; 1000..300000
                                       # (libpri's default 6 s; ITU-T Q.931 suggests 90 s)

    [numbers]
    access = ["95000"]                 # dialled numbers: the access number(s)
    service = ["95001"]                # the service IVR number(s)
    caller_id = "95000"                # shown on callbacks and invitations

    [access]
    min_balance_fen = 100              # a caller with less gets no callback (low_balance)
    rate_limit = 3                     # callbacks per calling number ...
    rate_window_s = 600                # ... per this many seconds

    [callback]
    delay_s = 5.0                      # seconds from the on-hook request to the callback
    retries = 2                        # redials when the callback is not answered ...
    retry_interval_s = 30.0            # ... this many seconds apart

    [conference]
    max_participants = 8               # seats per conference, the initiator included
    entry_timeout_s = 10.0             # keypad: a number not ended with # is taken after this
    finish_timeout_s = 6.0             # keypad: silence after the last # that ends inviting

    [prompts]
    language = "zh"                    # zh | en
    directory = ""                     # default: $CONFCALL_PROMPT_DIR or var/prompts

    [control]
    socket = "var/confcall.sock"       # the NOC CLI asks the running box here ("" = none)

    [media]
    echo_canceller = true              # confcall's own G.168 canceller on every B-channel (set
                                       # false when the card's hardware canceller does the job)
    level_control = false              # conference levelling: slow bounded automatic gain per
                                       # member and a noise gate for members not talking

    [web]                              # present: `serve` starts the web site (docs/web.md)
    enabled = true                     # false keeps the section but serves no site
    bind = "127.0.0.1"                 # "0.0.0.0" to serve every interface
    port = 8080                        # TCP port of the site (0 = any free port)
    tls_cert = ""                      # PEM files: both set = HTTPS and Secure cookies
    tls_key = ""                       # the private key of tls_cert
    timezone = "Asia/Shanghai"         # subscribers' default time zone for bookings

    [[radius]]                         # the carrier's billing servers (RADIUS accounting, RFC
    host = "192.0.2.10"                # 2866), in order of preference; none = no accounting
    port = 1813                        # the server's accounting port (UDP)
    secret_file = "/etc/confcall/radius.secret"  # the shared secret (first line), or:
    # secret = "..."                   # in this file (keep it mode 0600 then)

    [accounting]                       # how records reach the [[radius]] servers
    interim_s = 60.0                   # Interim-Update period of an answered leg
    timeout_s = 2.0                    # first retransmission after this, doubling each time
    max_timeout_s = 16.0               # ... up to this
    retries = 3                        # retransmissions to one server before failing over
    dead_time_s = 30.0                 # a server that did not answer is skipped this long
    window = 256                       # requests in flight per server (at most 256)
    dictionary = ""                    # our RADIUS dictionary ("" = the one shipped)

    [cdr]                              # CDR files for carriers that collect files
    directory = ""                     # where they are written ("" = no files)
    rotate_minutes = 15.0              # a file is closed every this many minutes ...
    rotate_records = 10000             # ... or at this many records, whichever comes first

    [fraud]                            # toll-fraud limits (docs/security.md); per account:
    max_conferences = 5                #   conferences in progress at once ...
    spend_per_hour_fen = 300000        #   ... fen its legs cost per hour (spent + in flight)
    callbacks_per_number = 30          # legs dialled to one number at once across the boxes,
                                       # then one every 10 s (callback storms)
                                       # (`confcall account limits` overrides per account)

    [booking]                          # booked conferences and callbacks (docs/bookings.md)
    grace_s = 300.0                    # due while no box ran: dialled if a box is back within
                                       # this many seconds of the start, else marked missed
    lease_s = 60.0                     # a box's claim on a booking lasts this long unless
                                       # renewed (every lease_s/3 while its call lives); then
                                       # another box takes it over
    poll_s = 2.0                       # how often a box looks for due bookings (> 0, and
                                       # lease_s must be at least 3 x poll_s)
    claim_ahead_s = 10.0               # claim bookings due this soon (< lease_s): dialled at
                                       # their start time to the tick
    retries_default = 2                # the booking form's defaults and bounds: redials of an
    retries_max = 5                    # unanswered party (0..retries_max) ...
    retry_interval_default_s = 60      # ... and seconds between them
    retry_interval_min_s = 30          # ... at least ...
    retry_interval_max_s = 600         # ... and at most
    max_days_ahead = 90                # how far ahead a conference may be booked
    expected_minutes = 30              # assumed length: credit and channels are checked for it
    expected_minutes_max = 240         # the longest length a booking may state
    channels = 0                       # channels booked conferences may hold at once, all
                                       # boxes together (0 = this box's B-channels)
    keyed_room = 0                     # channels each booked conference keeps free for
                                       # participants the initiator keys in (capacity check;
                                       # up to [conference] max_participants seats)

    [log]                              # stderr, one event per line (journald keeps it)
    level = "info"                     # debug | info | warning | error
    format = "keyvalue"                # keyvalue (ts=... level=... msg=... call=L17) | json

    [metrics]                          # Prometheus exposition on http://BIND:PORT/metrics
    port = 9464                        # 0 = no metrics endpoint
    bind = "127.0.0.1"                 # "0.0.0.0" when Prometheus scrapes from another host
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from confcall.dahdi.pri import SWITCH_TYPES
from confcall.dahdi.r2 import CATEGORIES as R2_CATEGORIES
from confcall.dahdi.r2 import VARIANTS as R2_VARIANTS
from confcall.dahdi.r2 import line_signalling_error

__all__ = ["Config", "ConfigError", "RadiusServerConf", "TrunkConf", "load_config",
           "parse_config"]


class ConfigError(ValueError):
    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")
        self.source, self.key, self.problem = source, key, problem


R2_REJECT_MODES = ("busy", "unallocated", "no_charge")


@dataclass(frozen=True)
class TrunkConf:
    span: int
    switchtype: str = "euroisdn_e1"
    reject_cause: int = 16
    signalling: str = ""
    r2_variant: str = ""
    r2_reject: str = "busy"
    r2_category: str = "national_subscriber"
    r2_max_ani: int = 20
    r2_max_dnis: int = 20
    r2_answer_timeout_s: float = 60.0
    r2_keys_given: bool = False  # any r2_* key was set (they make no sense on a PRI span)


@dataclass(frozen=True)
class RadiusServerConf:
    host: str
    port: int = 1813
    secret: str = field(default="", repr=False)

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Config:
    source: str = "<defaults>"
    box_id: str = ""
    database_url: str = "sqlite:///var/confcall.db"
    write_journal: str = "var/confcall-writes.journal"  # issue 13: confcall.store.journal
    simulated: bool = False
    sim_spans: tuple[tuple[str, str], ...] = (("E1", "pri"), ("E1", "pri"))
    span_config: str = ""
    trunks: tuple[TrunkConf, ...] = ()
    access_numbers: tuple[str, ...] = ("95000",)
    service_numbers: tuple[str, ...] = ("95001",)
    caller_id: str = "95000"
    min_balance_fen: int = 100
    rate_limit: int = 3
    rate_window_s: float = 600.0
    callback_delay_s: float = 5.0
    callback_retries: int = 2
    callback_retry_interval_s: float = 30.0
    max_participants: int = 8
    entry_timeout_s: float = 10.0
    finish_timeout_s: float = 6.0
    language: str = "zh"
    prompt_directory: str = ""
    echo_canceller: bool = True
    level_control: bool = False  # [media] level_control: per-member AGC + noise gate (mixer)
    control_socket: str = "var/confcall.sock"
    web_enabled: bool = False
    web_bind: str = "127.0.0.1"
    web_port: int = 8080
    web_tls_cert: str = ""
    web_tls_key: str = ""
    web_timezone: str = "Asia/Shanghai"
    radius_servers: tuple[RadiusServerConf, ...] = ()
    acct_interim_s: float = 60.0
    acct_timeout_s: float = 2.0
    acct_max_timeout_s: float = 16.0
    acct_retries: int = 3
    acct_dead_time_s: float = 30.0
    acct_window: int = 256
    acct_dictionary: str = ""
    cdr_directory: str = ""
    cdr_rotate_minutes: float = 15.0
    cdr_rotate_records: int = 10000
    booking_grace_s: float = 300.0
    booking_lease_s: float = 60.0
    booking_poll_s: float = 2.0
    booking_claim_ahead_s: float = 10.0
    booking_retries_default: int = 2
    booking_retries_max: int = 5
    booking_retry_interval_default_s: int = 60
    booking_retry_interval_min_s: int = 30
    booking_retry_interval_max_s: int = 600
    booking_max_days_ahead: int = 90
    booking_expected_minutes: int = 30
    booking_expected_minutes_max: int = 240
    booking_channels: int = 0
    booking_keyed_room: int = 0
    log_level: str = "info"
    log_format: str = "keyvalue"
    metrics_port: int = 9464
    metrics_bind: str = "127.0.0.1"
    fraud_max_conferences: int = 5  # issue 14: confcall.rating.fraud's box defaults
    fraud_spend_per_hour_fen: int = 300_000
    fraud_callbacks_per_number: int = 30
    pri_t309_ms: int = 6_000  # [pri] t309_ms: libpri's T309 on every PRI span (issue 13)
    fleet_heartbeat_s: float = 15.0  # [fleet]: boxes sharing a database (confcall/fleet.py)
    fleet_dead_after_s: float = 300.0
    extra: dict[str, Any] = field(default_factory=dict)

    def trunk_for(self, spanno: int) -> TrunkConf | None:
        return next((t for t in self.trunks if t.span == spanno), None)


_SECTIONS: dict[str, dict[str, tuple[str, type]]] = {
    "box": {"id": ("box_id", str)},
    "database": {"url": ("database_url", str), "write_journal": ("write_journal", str)},
    "hardware": {"simulated": ("simulated", bool), "sim_spans": ("sim_spans", list),
                 "span_config": ("span_config", str)},
    "numbers": {"access": ("access_numbers", list), "service": ("service_numbers", list),
                "caller_id": ("caller_id", str)},
    "access": {"min_balance_fen": ("min_balance_fen", int), "rate_limit": ("rate_limit", int),
               "rate_window_s": ("rate_window_s", float)},
    "callback": {"delay_s": ("callback_delay_s", float), "retries": ("callback_retries", int),
                 "retry_interval_s": ("callback_retry_interval_s", float)},
    "conference": {"max_participants": ("max_participants", int),
                   "entry_timeout_s": ("entry_timeout_s", float),
                   "finish_timeout_s": ("finish_timeout_s", float)},
    "prompts": {"language": ("language", str), "directory": ("prompt_directory", str)},
    "media": {"echo_canceller": ("echo_canceller", bool),
              "level_control": ("level_control", bool)},
    "control": {"socket": ("control_socket", str)},
    "web": {"enabled": ("web_enabled", bool), "bind": ("web_bind", str),
            "port": ("web_port", int), "tls_cert": ("web_tls_cert", str),
            "tls_key": ("web_tls_key", str), "timezone": ("web_timezone", str)},
    "accounting": {"interim_s": ("acct_interim_s", float), "timeout_s": ("acct_timeout_s", float),
                   "max_timeout_s": ("acct_max_timeout_s", float),
                   "retries": ("acct_retries", int), "dead_time_s": ("acct_dead_time_s", float),
                   "window": ("acct_window", int), "dictionary": ("acct_dictionary", str)},
    "cdr": {"directory": ("cdr_directory", str), "rotate_minutes": ("cdr_rotate_minutes", float),
            "rotate_records": ("cdr_rotate_records", int)},
    "booking": {**{k: (f"booking_{k}", float) for k in ("grace_s", "lease_s", "poll_s",
                                                        "claim_ahead_s")},
                **{k: (f"booking_{k}", int) for k in (
                    "retries_default", "retries_max", "retry_interval_default_s",
                    "retry_interval_min_s", "retry_interval_max_s", "max_days_ahead",
                    "expected_minutes", "expected_minutes_max", "channels",
                    "keyed_room")}},
    "fraud": {k: (f"fraud_{k}", int) for k in ("max_conferences", "spend_per_hour_fen",
                                               "callbacks_per_number")},
}

# [log] and [metrics]: what the NOC sees of a running box (docs/operations.md)
_SECTIONS["log"] = {"level": ("log_level", str), "format": ("log_format", str)}
_SECTIONS["metrics"] = {"port": ("metrics_port", int), "bind": ("metrics_bind", str)}
# [pri]: libpri's timers on every PRI span
_SECTIONS["pri"] = {"t309_ms": ("pri_t309_ms", int)}
# [fleet]: boxes sharing one database; a dead box's rows are closed by a live one
_SECTIONS["fleet"] = {"heartbeat_s": ("fleet_heartbeat_s", float),
                      "dead_after_s": ("fleet_dead_after_s", float)}


def _check_fleet(values: dict[str, Any], source: str) -> None:
    """[fleet]: a box is declared dead only well after it could have renewed its heartbeat,
    its booking leases and its legs' interim records (a slow box must never be reaped)."""
    beat = values.get("fleet_heartbeat_s", 15.0)
    if "fleet_dead_after_s" not in values:  # the default grows with what it must outlast
        values["fleet_dead_after_s"] = max(300.0, 3 * beat, 2 * values.get("booking_lease_s", 60.0),
                                           2 * values.get("acct_interim_s", 60.0))
    dead = values["fleet_dead_after_s"]
    if not 1.0 <= beat <= 3600.0:
        raise ConfigError(source, "fleet.heartbeat_s", f"seconds from 1 to 3600, got {beat}")
    if not 3 * beat <= dead <= 7 * 86400:
        raise ConfigError(source, "fleet.dead_after_s", f"seconds from 3 x fleet.heartbeat_s "
                          f"({3 * beat:g}) to 604800, got {dead}")
    for key, name in (("booking_lease_s", "booking.lease_s"),
                      ("acct_interim_s", "accounting.interim_s")):
        other = values.get(key, 60.0)
        if dead < 2 * other:
            raise ConfigError(source, "fleet.dead_after_s", f"must be at least 2 x {name} "
                              f"({2 * other:g} s), got {dead}")


def _check_pri(values: dict[str, Any], source: str) -> None:
    """[pri] t309_ms within what keeps calls through a link reset without holding dead ones."""
    from confcall.dahdi.pri_trunk import T309_MAX_MS, T309_MIN_MS
    ms = values.get("pri_t309_ms", 6_000)
    if not T309_MIN_MS <= ms <= T309_MAX_MS:
        raise ConfigError(source, "pri.t309_ms", f"milliseconds from {T309_MIN_MS} to "
                          f"{T309_MAX_MS}, got {ms}")


def _check_noc(values: dict[str, Any], source: str) -> None:
    from confcall.logsetup import FORMATS, LEVELS
    if values.get("log_level", "info") not in LEVELS:
        raise ConfigError(source, "log.level", f"{values['log_level']!r}; allowed: "
                          f"{', '.join(LEVELS)}")
    if values.get("log_format", "keyvalue") not in FORMATS:
        raise ConfigError(source, "log.format", f"{values['log_format']!r}; allowed: "
                          f"{', '.join(FORMATS)}")
    if not 0 <= values.get("metrics_port", 9464) <= 65535:
        raise ConfigError(source, "metrics.port", "0..65535 (0 = no metrics endpoint)")
    if "metrics_bind" in values and not values["metrics_bind"].strip():
        raise ConfigError(source, "metrics.bind", "an address to listen on, e.g. 127.0.0.1")


def load_config(path: str | Path) -> Config:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(p), "-", "file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(p), "-", f"not valid TOML: {e}") from e
    return parse_config(data, str(p))


def _typed(source: str, key: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise ConfigError(source, key, f"expected {kind.__name__}, got {value!r}")
    return value


def _digits(source: str, key: str, values: list[Any]) -> tuple[str, ...]:
    out = []
    for v in values:
        if not isinstance(v, str) or not v.isdigit() or not 2 <= len(v) <= 20:
            raise ConfigError(source, key, f"{v!r} is not a dialled number (2-20 digits)")
        out.append(v)
    return tuple(out)


def parse_config(data: dict[str, Any], source: str = "<config>") -> Config:
    values: dict[str, Any] = {"source": source}
    if isinstance(data.get("web"), dict):
        values["web_enabled"] = True  # the section's presence turns the site on
    for section, body in data.items():
        if section in ("trunk", "radius"):
            continue
        if section not in _SECTIONS:
            raise ConfigError(source, section, f"unknown section; known: "
                              f"{', '.join([*_SECTIONS, 'trunk', 'radius'])}")
        if not isinstance(body, dict):
            raise ConfigError(source, section, "must be a table")
        for key, value in body.items():
            spec = _SECTIONS[section].get(key)
            if spec is None:
                raise ConfigError(source, f"{section}.{key}", "unknown key; known: "
                                  f"{', '.join(_SECTIONS[section])}")
            name, kind = spec
            values[name] = _typed(source, f"{section}.{key}", value, kind)
    _normalise(values, source)
    _check_noc(values, source)
    _check_pri(values, source)
    _check_fleet(values, source)
    _check_booking({**_BOOKING_DEFAULTS, **values}, source)
    values["trunks"] = _trunks(data.get("trunk", []), source)
    values["radius_servers"] = _radius_servers(data.get("radius", []), source)
    _billing_bounds(values, source)
    _check_write_journal(values, source)
    known = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in values.items() if k in known})


def _normalise(values: dict[str, Any], source: str) -> None:
    if "sim_spans" in values:
        spans = []
        for s in values["sim_spans"]:
            line, _, sig = str(s).partition(":")
            if line.upper() not in ("E1", "T1") or (sig or "pri").lower() not in ("pri", "cas"):
                raise ConfigError(source, "hardware.sim_spans",
                                  f"{s!r}: LINE[:SIGNALLING], LINE E1|T1, SIGNALLING pri|cas")
            why = line_signalling_error(line, sig or "pri")
            if why:
                raise ConfigError(source, "hardware.sim_spans", f"{s!r}: {why}")
            spans.append((line.upper(), (sig or "pri").lower()))
        if not spans:
            raise ConfigError(source, "hardware.sim_spans", "at least one span")
        values["sim_spans"] = tuple(spans)
    for key, sect in (("access_numbers", "numbers.access"), ("service_numbers",
                                                             "numbers.service")):
        if key in values:
            values[key] = _digits(source, sect, values[key])
    if "caller_id" in values:
        _digits(source, "numbers.caller_id", [values["caller_id"]])
    if set(values.get("access_numbers", ())) & set(values.get("service_numbers", ())):
        raise ConfigError(source, "numbers", "a number cannot be both access and service")
    if values.get("language", "zh") not in ("zh", "en"):
        raise ConfigError(source, "prompts.language", "zh or en")
    for key, low in (("min_balance_fen", 0), ("rate_limit", 1), ("callback_retries", 0),
                     ("max_participants", 1)):
        if key in values and values[key] < low:
            raise ConfigError(source, key, f"must be >= {low}")
    for key in ("rate_window_s", "callback_retry_interval_s", "entry_timeout_s",
                "finish_timeout_s"):
        if key in values and values[key] <= 0:
            raise ConfigError(source, key, "must be > 0")
    if values.get("callback_delay_s", 0) < 0:
        raise ConfigError(source, "callback.delay_s", "must be >= 0")
    if values.get("box_id"):
        from confcall.ids import BOX_ID_PATTERN
        if not BOX_ID_PATTERN.match(values["box_id"]):
            raise ConfigError(source, "box.id", f"{values['box_id']!r}: 1-32 of a-z 0-9 _ . - "
                              "(starting with a letter or digit)")
    _check_web(values, source)
    _check_fraud(values, source)
    url = values.get("database_url")
    if url is not None and not url.startswith(("sqlite:///", "postgresql")):
        raise ConfigError(source, "database.url", "sqlite:///PATH or postgresql://...")


def _check_write_journal(values: dict[str, Any], source: str) -> None:
    """[database] write_journal: a file path ("" = off) whose directory the box can write."""
    path = values.get("write_journal")
    if not path:
        return
    p = Path(path)
    if p.is_dir() or path.endswith("/"):
        raise ConfigError(source, "database.write_journal", f"{path!r} is a directory; give a "
                          "file path (e.g. var/confcall-writes.journal)")
    if "\0" in path:
        raise ConfigError(source, "database.write_journal", "a path without NUL characters")
    parent = next((d for d in (p.parent, *p.parent.parents) if d.exists()), Path("."))
    import os
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK) or \
            (p.exists() and not os.access(p, os.W_OK)):
        raise ConfigError(source, "database.write_journal", f"{path!r}: not writable by this "
                          "user (the box appends to it and creates its directory)")


def _check_fraud(values: dict[str, Any], source: str) -> None:
    """[fraud]: whole numbers within what ``confcall account limits`` accepts."""
    for key, low, high in (("fraud_max_conferences", 1, 1000),
                           ("fraud_spend_per_hour_fen", 0, 100_000_000),
                           ("fraud_callbacks_per_number", 1, 10_000)):
        if key in values and not low <= values[key] <= high:
            raise ConfigError(source, key.replace("fraud_", "fraud."),
                              f"a whole number from {low} to {high}, got {values[key]}")


def _check_web(values: dict[str, Any], source: str) -> None:
    if not 0 <= values.get("web_port", 8080) <= 65535:
        raise ConfigError(source, "web.port", "0..65535 (0 = any free port)")
    if bool(values.get("web_tls_cert")) != bool(values.get("web_tls_key")):
        raise ConfigError(source, "web.tls_cert", "give both tls_cert and tls_key, or neither")
    for key in ("web_tls_cert", "web_tls_key"):
        if values.get(key) and not Path(values[key]).is_file():
            raise ConfigError(source, key.replace("web_", "web."), f"{values[key]}: no such file")
    if "web_timezone" in values:
        from zoneinfo import ZoneInfo
        try:
            ZoneInfo(values["web_timezone"])
        except Exception:  # noqa: BLE001 - any failure means: not a zone we know
            raise ConfigError(source, "web.timezone",
                              f"{values['web_timezone']!r}: not an IANA time zone "
                              "(e.g. Asia/Shanghai)") from None
_BOOKING_DEFAULTS = {f.name: f.default for f in fields(Config) if f.name.startswith("booking_")}


def _check_booking(v: dict[str, Any], source: str) -> None:
    """The [booking] keys, alone and against each other."""
    def bad(key: str, rule: str) -> ConfigError:
        return ConfigError(source, f"booking.{key.removeprefix('booking_')}", rule)
    for key in ("booking_grace_s", "booking_claim_ahead_s", "booking_retries_max",
                "booking_channels", "booking_keyed_room"):
        if v[key] < 0:
            raise bad(key, "must be >= 0")
    for key in ("booking_lease_s", "booking_poll_s", "booking_retry_interval_min_s",
                "booking_max_days_ahead", "booking_expected_minutes"):
        if v[key] <= 0:
            raise bad(key, "must be > 0")
    if v["booking_lease_s"] < 3 * v["booking_poll_s"]:
        raise bad("booking_lease_s", "must be at least 3 x booking.poll_s (a lease is renewed "
                  "every lease_s/3)")
    if v["booking_claim_ahead_s"] >= v["booking_lease_s"]:
        raise bad("booking_claim_ahead_s", "must be less than booking.lease_s")
    if not 0 <= v["booking_retries_default"] <= v["booking_retries_max"]:
        raise bad("booking_retries_default", "must be within 0..booking.retries_max")
    if not v["booking_retry_interval_min_s"] <= v["booking_retry_interval_default_s"] <= \
            v["booking_retry_interval_max_s"]:
        raise bad("booking_retry_interval_default_s", "must be within booking.retry_interval"
                  "_min_s..booking.retry_interval_max_s")
    if v["booking_expected_minutes"] > v["booking_expected_minutes_max"]:
        raise bad("booking_expected_minutes", "must be <= booking.expected_minutes_max")


def _trunks(items: Any, source: str) -> tuple[TrunkConf, ...]:
    if not isinstance(items, list):
        raise ConfigError(source, "trunk", "use [[trunk]] tables")
    out: list[TrunkConf] = []
    for i, t in enumerate(items):
        where = f"trunk[{i}]"
        if not isinstance(t, dict):
            raise ConfigError(source, where, "must be a table")
        unknown = set(t) - set(_TRUNK_KEYS)
        if unknown:
            raise ConfigError(source, f"{where}.{sorted(unknown)[0]}",
                              f"unknown key; known: {', '.join(_TRUNK_KEYS)}")
        span = t.get("span")
        if not isinstance(span, int) or isinstance(span, bool) or span < 1:
            raise ConfigError(source, f"{where}.span", "a span number >= 1 is required")
        sw = t.get("switchtype", "euroisdn_e1")
        if sw not in SWITCH_TYPES:
            raise ConfigError(source, f"{where}.switchtype",
                              f"{sw!r}; allowed: {', '.join(SWITCH_TYPES)}")
        cause = t.get("reject_cause", 16)
        if cause not in (16, 17, 21):
            raise ConfigError(source, f"{where}.reject_cause", f"{cause!r}; allowed: 16, 17, 21")
        if any(x.span == span for x in out):
            raise ConfigError(source, f"{where}.span", f"span {span} listed twice")
        out.append(TrunkConf(span, sw, cause, **_r2_keys(t, where, source)))
    return tuple(out)


def _billing_bounds(values: dict[str, Any], source: str) -> None:
    for key, name, low, high in (
            ("acct_interim_s", "accounting.interim_s", 1.0, 86400.0),
            ("acct_timeout_s", "accounting.timeout_s", 0.01, 60.0),
            ("acct_max_timeout_s", "accounting.max_timeout_s", 0.01, 600.0),
            ("acct_retries", "accounting.retries", 0, 20),
            ("acct_dead_time_s", "accounting.dead_time_s", 0.1, 86400.0),
            ("acct_window", "accounting.window", 1, 256),
            ("cdr_rotate_minutes", "cdr.rotate_minutes", 0.1, 1440.0),
            ("cdr_rotate_records", "cdr.rotate_records", 1, 10_000_000)):
        if key in values and not low <= values[key] <= high:
            raise ConfigError(source, name, f"{values[key]!r} is outside {low}..{high}")
    if values.get("acct_max_timeout_s", 16.0) < values.get("acct_timeout_s", 2.0):
        raise ConfigError(source, "accounting.max_timeout_s", "must be >= accounting.timeout_s")
    path = values.get("acct_dictionary")
    if path and not Path(path).is_file():
        raise ConfigError(source, "accounting.dictionary", f"{path!r}: no such file")


def _radius_servers(items: Any, source: str) -> tuple[RadiusServerConf, ...]:
    if not isinstance(items, list):
        raise ConfigError(source, "radius", "use [[radius]] tables")
    out: list[RadiusServerConf] = []
    for i, t in enumerate(items):
        where = f"radius[{i}]"
        if not isinstance(t, dict):
            raise ConfigError(source, where, "must be a table")
        unknown = set(t) - {"host", "port", "secret", "secret_file"}
        if unknown:
            raise ConfigError(source, f"{where}.{sorted(unknown)[0]}",
                              "unknown key; known: host, port, secret, secret_file")
        host = t.get("host")
        if not isinstance(host, str) or not host or len(host) > 253 or " " in host:
            raise ConfigError(source, f"{where}.host", "a host name or IP address is required")
        port = t.get("port", 1813)
        if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
            raise ConfigError(source, f"{where}.port", f"{port!r}: a UDP port 1-65535")
        secret = _radius_secret(t, where, source)
        if any(x.host == host and x.port == port for x in out):
            raise ConfigError(source, f"{where}.host", f"{host}:{port} listed twice")
        out.append(RadiusServerConf(host, port, secret))
    return tuple(out)


def _radius_secret(t: dict[str, Any], where: str, source: str) -> str:
    if ("secret" in t) == ("secret_file" in t):
        raise ConfigError(source, f"{where}.secret", "give exactly one of secret, secret_file")
    if "secret_file" in t:
        path = t["secret_file"]
        if not isinstance(path, str):
            raise ConfigError(source, f"{where}.secret_file", "expected a path")
        try:
            text = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(source, f"{where}.secret_file",
                              f"{path!r}: {e.strerror or e}") from None
        secret = text[0].strip() if text else ""
        key = f"{where}.secret_file"
    else:
        secret, key = t["secret"], f"{where}.secret"
    if not isinstance(secret, str) or not secret or len(secret.encode()) > 128:
        raise ConfigError(source, key, "the shared secret must be 1-128 bytes of text")
    return secret


_TRUNK_KEYS = ("span", "signalling", "switchtype", "reject_cause", "r2_variant", "r2_reject",
               "r2_category", "r2_max_ani", "r2_max_dnis", "r2_answer_timeout_s")


def _r2_keys(t: dict[str, Any], where: str, source: str) -> dict[str, Any]:
    """The signalling check and the MFC/R2 keys of one [[trunk]] (docs/r2.md)."""
    out: dict[str, Any] = {}
    sig = t.get("signalling", "")
    if sig not in ("", "pri", "r2"):
        raise ConfigError(source, f"{where}.signalling", f"{sig!r}; allowed: pri, r2 (or leave "
                          "it out: the span config decides)")
    out["signalling"] = sig
    choices = (("r2_variant", ("", *R2_VARIANTS)), ("r2_reject", R2_REJECT_MODES),
               ("r2_category", tuple(R2_CATEGORIES)))
    for key, allowed in choices:
        if key in t:
            if t[key] not in allowed:
                raise ConfigError(source, f"{where}.{key}",
                                  f"{t[key]!r}; allowed: {', '.join(a for a in allowed if a)}")
            out[key] = t[key]
    for key in ("r2_max_ani", "r2_max_dnis"):
        if key in t:
            v = t[key]
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 79:
                raise ConfigError(source, f"{where}.{key}", f"{v!r}: a whole number 1..79")
            out[key] = v
    if "r2_answer_timeout_s" in t:
        v = t["r2_answer_timeout_s"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 5 <= v <= 600:
            raise ConfigError(source, f"{where}.r2_answer_timeout_s", f"{v!r}: seconds, 5..600")
        out["r2_answer_timeout_s"] = float(v)
    r2_keys = [k for k in t if k.startswith("r2_")]
    if sig == "pri" and r2_keys:
        raise ConfigError(source, f"{where}.{r2_keys[0]}", "an MFC/R2 key on a trunk whose "
                          "signalling is pri")
    pri_keys = [k for k in ("switchtype", "reject_cause") if k in t]
    if sig == "r2" and pri_keys:
        raise ConfigError(source, f"{where}.{pri_keys[0]}", "a PRI key on a trunk whose "
                          "signalling is r2 (MFC/R2 refuses with r2_reject)")
    out["r2_keys_given"] = bool(r2_keys)
    return out
