"""Global channel numbering and channel-list text."""

from __future__ import annotations

import pytest

from confcall.hw.channels import basechans, format_ranges, parse_ranges, runs, span_channels


def test_basechans_e1_e1_t1() -> None:
    assert basechans(["E1", "E1", "T1", "E1"]) == [1, 32, 63, 87]


def test_e1_pri() -> None:
    c = span_channels(1, "E1", "pri")
    assert (format_ranges(c.bearer), c.dchannel, c.total, len(c.bearer)) == \
        ("1-15,17-31", 16, 31, 30)


def test_e1_r2_second_span() -> None:
    c = span_channels(32, "E1", "mfcr2")
    assert runs(c.bearer) == [(32, 46), (48, 62)] and c.dchannel is None


def test_t1_pri_third_span() -> None:
    c = span_channels(63, "T1", "pri")
    assert (format_ranges(c.bearer), c.dchannel) == ("63-85", 86)


@pytest.mark.parametrize("text, chans", [
    ("1-15,17-31", tuple(range(1, 16)) + tuple(range(17, 32))),
    ("5", (5,)),
    ("1,3-4", (1, 3, 4)),
])
def test_parse_ranges_round_trip(text: str, chans: tuple[int, ...]) -> None:
    assert parse_ranges(text) == chans
    assert format_ranges(chans) == text


@pytest.mark.parametrize("bad", ["", "1,,2", "a-3", "5-2", "0-3", "1-"])
def test_parse_ranges_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_ranges(bad)
