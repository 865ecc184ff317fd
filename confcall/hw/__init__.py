"""Hardware profiles → DAHDI configuration, and parsers for what `confcall hw detect` reads.

Profiles (``hw_profiles/*.toml``) describe a card model; a trunk plan says what each span
is for; `genconf` turns both into ``/etc/dahdi/system.conf`` plus confcall's span config,
which the daemon loads with `load_span_config`.
"""

from confcall.hw.errors import HwConfigError, ProfileNotFound
from confcall.hw.genconf import GeneratedConfig, generate, modprobe_conf, system_conf
from confcall.hw.plan import SpanPlan, TrunkPlan, default_plan, load_plan
from confcall.hw.profile import CardProfile, load_profile, load_profiles, profiles_dir
from confcall.hw.spanconf import (
    DaemonSpan,
    SpanConfig,
    load_span_config,
    render_span_config,
    span_config_from_plan,
)

__all__ = [
    "CardProfile",
    "DaemonSpan",
    "GeneratedConfig",
    "HwConfigError",
    "ProfileNotFound",
    "SpanConfig",
    "SpanPlan",
    "TrunkPlan",
    "default_plan",
    "generate",
    "load_plan",
    "load_profile",
    "load_profiles",
    "load_span_config",
    "modprobe_conf",
    "profiles_dir",
    "render_span_config",
    "span_config_from_plan",
    "system_conf",
]
