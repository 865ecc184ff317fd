"""The [booking] section: defaults, a good section, and every bad value named by its key."""
import tomllib
from datetime import timedelta

import pytest

from confcall.booking import limits_from_config
from confcall.config import Config, ConfigError, parse_config


def test_defaults_and_a_good_section_become_the_booking_limits():
    assert limits_from_config(Config(), box_channels=60).channels == 60
    cfg = parse_config(tomllib.loads("""
[conference]
max_participants = 5
[booking]
grace_s = 120
lease_s = 30
poll_s = 1
claim_ahead_s = 5
retries_default = 1
retries_max = 3
retry_interval_default_s = 45
retry_interval_min_s = 40
retry_interval_max_s = 300
max_days_ahead = 7
expected_minutes = 20
expected_minutes_max = 60
channels = 90
"""), "box.toml")
    assert (cfg.booking_grace_s, cfg.booking_lease_s, cfg.booking_poll_s) == (120.0, 30.0, 1.0)
    limits = limits_from_config(cfg, box_channels=60)
    assert (limits.max_participants, limits.retries_max, limits.retry_interval_min_s,
            limits.retry_interval_max_s, limits.max_ahead, limits.expected_minutes,
            limits.expected_minutes_max, limits.channels) == (
        5, 3, 40, 300, timedelta(days=7), 20, 60, 90)


@pytest.mark.parametrize("text,key,problem", [
    ("grace_s = -1", "booking.grace_s", ">= 0"),
    ("lease_s = 0", "booking.lease_s", "> 0"),
    ("lease_s = 5\npoll_s = 2", "booking.lease_s", "3 x booking.poll_s"),
    ("claim_ahead_s = 60", "booking.claim_ahead_s", "less than booking.lease_s"),
    ("retries_default = 6", "booking.retries_default", "0..booking.retries_max"),
    ("retry_interval_default_s = 10", "booking.retry_interval_default_s", "within"),
    ("retry_interval_min_s = 0", "booking.retry_interval_min_s", "> 0"),
    ("expected_minutes = 300", "booking.expected_minutes", "<= booking.expected_minutes_max"),
    ("channels = -1", "booking.channels", ">= 0"),
    ("channels = 1.5", "booking.channels", "expected int"),
    ("lease = 60", "booking.lease", "unknown key"),
])
def test_bad_booking_values_name_file_and_key(text, key, problem):
    with pytest.raises(ConfigError) as e:
        parse_config(tomllib.loads("[booking]\n" + text), "box.toml")
    assert e.value.key == key and problem in str(e.value)
    assert str(e.value).startswith(f"box.toml: {key}: ")
