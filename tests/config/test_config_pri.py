"""[pri] t309_ms: libpri's T309 on every PRI span, validated (issue 13; the effect on calls is
tests/pri/test_link_reset.py and the daemon wiring tests/conference/test_line_faults.py)."""
from __future__ import annotations

import pytest

from confcall.config import ConfigError, parse_config


def test_t309_defaults_to_libpris_six_seconds_and_loads():
    from confcall.dahdi.pri_trunk import T309_DEFAULT_MS
    assert parse_config({}).pri_t309_ms == T309_DEFAULT_MS == 6_000
    assert parse_config({"pri": {"t309_ms": 30_000}}).pri_t309_ms == 30_000


@pytest.mark.parametrize("bad", [0, 999, 300_001, -5])
def test_t309_out_of_bounds_names_the_key_and_rule(bad):
    with pytest.raises(ConfigError, match=r"pri\.t309_ms: milliseconds from 1000 to 300000, "
                                          rf"got {bad}"):
        parse_config({"pri": {"t309_ms": bad}})


def test_t309_not_a_whole_number_names_the_key():
    with pytest.raises(ConfigError, match=r"pri\.t309_ms"):
        parse_config({"pri": {"t309_ms": "10s"}})
    with pytest.raises(ConfigError, match=r"pri\.unknown: unknown key"):
        parse_config({"pri": {"unknown": 1}})
