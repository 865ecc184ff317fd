"""[fleet] heartbeat_s and dead_after_s, validated (issue 13, fleet: docs/fleet.md; the effect is
tests/conference/test_orphans.py): a box is declared lost only well after it could have renewed
its heartbeat, its booking leases and its legs' interim records."""
from __future__ import annotations

import pytest

from confcall.config import ConfigError, parse_config


def test_defaults_and_values_load():
    cfg = parse_config({})
    assert (cfg.fleet_heartbeat_s, cfg.fleet_dead_after_s) == (15.0, 300.0)
    cfg = parse_config({"fleet": {"heartbeat_s": 5, "dead_after_s": 600}})
    assert (cfg.fleet_heartbeat_s, cfg.fleet_dead_after_s) == (5.0, 600.0)


@pytest.mark.parametrize("fleet, message", [
    ({"heartbeat_s": 0.5}, r"fleet\.heartbeat_s: seconds from 1 to 3600, got 0\.5"),
    ({"heartbeat_s": 4000}, r"fleet\.heartbeat_s: seconds from 1 to 3600"),
    ({"heartbeat_s": 30, "dead_after_s": 60},
     r"fleet\.dead_after_s: seconds from 3 x fleet\.heartbeat_s \(90\) to 604800, got 60"),
    ({"dead_after_s": 700_000}, r"fleet\.dead_after_s: seconds from 3 x"),
    ({"dead_after_s": 100}, r"fleet\.dead_after_s: must be at least 2 x booking\.lease_s "
                            r"\(120 s\), got 100"),
])
def test_bad_values_name_the_key_and_rule(fleet, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"fleet": fleet})


def test_dead_after_must_outlast_the_interim_period_and_the_lease():
    with pytest.raises(ConfigError, match=r"2 x accounting\.interim_s \(600 s\), got 300"):
        parse_config({"accounting": {"interim_s": 300}, "fleet": {"dead_after_s": 300}})
    with pytest.raises(ConfigError, match=r"2 x booking\.lease_s \(400 s\), got 300"):
        parse_config({"booking": {"lease_s": 200}, "fleet": {"dead_after_s": 300}})
    # left unset, it grows with them (a config valid before [fleet] existed stays valid)
    assert parse_config({"accounting": {"interim_s": 300}}).fleet_dead_after_s == 600
    assert parse_config({"booking": {"lease_s": 200}}).fleet_dead_after_s == 400


def test_wrong_type_and_unknown_key_name_the_key():
    with pytest.raises(ConfigError, match=r"fleet\.dead_after_s"):
        parse_config({"fleet": {"dead_after_s": "5m"}})
    with pytest.raises(ConfigError, match=r"fleet\.unknown: unknown key"):
        parse_config({"fleet": {"unknown": 1}})
