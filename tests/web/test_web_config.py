"""The [web] section: its presence turns the site on; every bad value is refused up front with
the file, the key and the rule."""
from __future__ import annotations

import pytest

from confcall.config import Config, ConfigError, parse_config
from confcall.web import WebConfig


def test_section_present_turns_the_site_on_with_booking_defaults():
    assert Config().web_enabled is False
    cfg = parse_config({"web": {"bind": "0.0.0.0", "port": 8443},
                        "booking": {"retries_default": 3, "retries_max": 4}}, "box.toml")
    assert cfg.web_enabled and cfg.web_bind == "0.0.0.0" and cfg.web_port == 8443
    web = WebConfig.from_config(cfg, box_channels=60)
    assert (web.retry_count, web.limits.retries_max, web.limits.channels) == (3, 4, 60)
    assert not web.tls
    assert parse_config({"web": {"enabled": False}}).web_enabled is False


@pytest.mark.parametrize(("section", "key", "problem"), [
    ({"port": 70000}, "web.port", "0..65535"),
    ({"tls_cert": "/nonexistent.pem"}, "web.tls_cert", "give both"),
    ({"tls_cert": "/nonexistent.pem", "tls_key": "/nonexistent.key"}, "web.tls_cert",
     "no such file"),
    ({"timezone": "Mars/Olympus"}, "web.timezone", "IANA"),
    ({"colour": "blue"}, "web.colour", "unknown key"),
])
def test_bad_values_name_the_key(section, key, problem):
    with pytest.raises(ConfigError) as e:
        parse_config({"web": section}, "box.toml")
    assert e.value.key == key and problem in e.value.problem
    assert str(e.value).startswith("box.toml: ")
