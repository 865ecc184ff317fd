"""[media] level_control: conference levelling on every new call, validated."""
from __future__ import annotations

import pytest

from confcall.config import ConfigError, parse_config


def test_level_control_defaults_off_and_loads():
    assert parse_config({}).level_control is False
    assert parse_config({"media": {"level_control": True}}).level_control is True


def test_bad_level_control_names_the_key():
    with pytest.raises(ConfigError, match=r"media\.level_control: expected bool"):
        parse_config({"media": {"level_control": "yes"}})
