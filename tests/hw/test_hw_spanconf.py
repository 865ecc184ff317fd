"""confcall's span config: derived from the plan, round-trips through TOML, validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _hw_helpers import PLANS

from confcall.hw import (
    HwConfigError,
    load_plan,
    load_span_config,
    render_span_config,
    span_config_from_plan,
)


def test_from_plan(te420: Any) -> None:
    cfg = span_config_from_plan(te420, load_plan(PLANS / "te420_mixed.toml", te420))
    pri, r2, t1 = cfg.spans
    assert (pri.spanno, pri.name, pri.signaling, pri.switchtype, pri.dchannel, pri.law) == \
        (1, "TE4/0/1", "pri_cpe", "euroisdn_e1", 16, "alaw")
    assert pri.channels == tuple(range(1, 16)) + tuple(range(17, 32))
    assert pri.label == "carrier A" and not pri.software_ec
    assert (r2.signaling, r2.dchannel, r2.r2_variant, r2.software_ec, r2.is_pri) == \
        ("mfcr2", None, "CN", True, False)
    assert r2.channels == tuple(range(32, 47)) + tuple(range(48, 63))
    assert (t1.signaling, t1.switchtype, t1.channels, t1.dchannel, t1.law) == \
        ("pri_cpe", "ni2", tuple(range(63, 86)), 86, "ulaw")


def test_round_trip(te420: Any, tmp_path: Path) -> None:
    cfg = span_config_from_plan(te420, load_plan(PLANS / "te420_mixed.toml", te420))
    path = tmp_path / "spans.toml"
    path.write_text(render_span_config(cfg))
    assert load_span_config(path) == cfg


def test_rendered_keys(te420: Any) -> None:
    text = render_span_config(span_config_from_plan(
        te420, load_plan(PLANS / "te420_mixed.toml", te420)))
    r2 = text.split("[[span]]")[2]
    assert 'channels = "32-46,48-62"' in r2 and "dchannel" not in r2
    assert 'signaling = "mfcr2"' in r2 and "switchtype" not in r2


_GOOD = ('[[span]]\nspanno = 1\nline = "E1"\nsignaling = "pri_cpe"\nswitchtype = "euroisdn"\n'
         'channels = "1-15,17-31"\ndchannel = 16\n')


@pytest.mark.parametrize("text, key, message", [
    (_GOOD.replace("dchannel = 16\n", ""), "span[0].dchannel", "needs its D-channel"),
    (_GOOD.replace('"pri_cpe"', '"mfcr2"').replace('switchtype = "euroisdn"\n', ""),
     "span[0].dchannel", "has no D-channel"),
    (_GOOD.replace("dchannel = 16", "dchannel = 15"), "span[0].dchannel",
     "also listed in channels"),
    (_GOOD.replace('"1-15,17-31"', '"1-15,,17"'), "span[0].channels", "empty item"),
    (_GOOD.replace('"pri_cpe"', '"isdn"'), "span[0].signaling", "'isdn' is not allowed"),
    (_GOOD + _GOOD.replace("[[span]]\n", "\n[[span]]\n", 1).replace("spanno = 1", "spanno = 2"),
     "span[1].channels", "channel 1 also belongs to span 1"),
    (_GOOD + "\n" + _GOOD, "span[1].spanno", "listed twice"),
    (_GOOD.replace('switchtype = "euroisdn"', 'switchtype = "national"'),
     "span[0].switchtype", "'national' is not allowed"),
])
def test_bad_span_config(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = tmp_path / "spans.toml"
    path.write_text(text)
    with pytest.raises(HwConfigError) as err:
        load_span_config(path)
    got = str(err.value)
    assert got.startswith(f"{path}: {key}: ") and message in got, got
