"""Hardware profiles → DAHDI configuration, and parsers for what `confcall hw detect` reads.

Profiles (``hw_profiles/*.toml``) describe a card model; a trunk plan says what each span
is for; `genconf` turns both into ``/etc/dahdi/system.conf`` plus confcall's span config,
which the daemon loads with `load_span_config`.
"""

from confcall.hw.detect import DetectReport, detect
from confcall.hw.errors import HwConfigError, ProfileNotFound
from confcall.hw.genconf import GeneratedConfig, generate, modprobe_conf, system_conf
from confcall.hw.plan import SpanPlan, TrunkPlan, default_plan, load_plan
from confcall.hw.procfs import ProcChannel, ProcSpan, parse_proc_span, read_proc_dir
from confcall.hw.profile import CardProfile, load_profile, load_profiles, profiles_dir
from confcall.hw.scan import ScanSpan, parse_dahdi_scan, read_dahdi_scan
from confcall.hw.spanconf import (
    DaemonSpan,
    SpanConfig,
    load_span_config,
    render_span_config,
    span_config_from_plan,
)
from confcall.hw.sysfs import SysfsDevice, SysfsSnapshot, SysfsSpan, read_sysfs

__all__ = [
    "CardProfile",
    "DaemonSpan",
    "DetectReport",
    "GeneratedConfig",
    "HwConfigError",
    "ProcChannel",
    "ProcSpan",
    "ProfileNotFound",
    "ScanSpan",
    "SpanConfig",
    "SpanPlan",
    "SysfsDevice",
    "SysfsSnapshot",
    "SysfsSpan",
    "TrunkPlan",
    "default_plan",
    "detect",
    "generate",
    "load_plan",
    "load_profile",
    "load_profiles",
    "load_span_config",
    "modprobe_conf",
    "parse_dahdi_scan",
    "parse_proc_span",
    "profiles_dir",
    "read_dahdi_scan",
    "read_proc_dir",
    "read_sysfs",
    "render_span_config",
    "span_config_from_plan",
    "system_conf",
]
