"""/proc/dahdi/<span> parser on the sample files."""

from __future__ import annotations

import pytest
from _hw_helpers import FIXTURES

from confcall.hw import HwConfigError
from confcall.hw.procfs import parse_proc_span, read_proc_dir

PROC = FIXTURES / "proc_dahdi"


def test_e1_pri_span() -> None:
    s = parse_proc_span((PROC / "1").read_text())
    assert (s.spanno, s.name, s.description) == (1, "TE4/0/1", "T4XXP (PCI) Card 0 Span 1")
    assert s.master and s.clock_source and s.alarms == ()
    assert s.lineconfig == ("HDB3", "CCS", "CRC4")
    assert s.counters == {"irq_misses": 2, "bpv_count": 3, "crc4_error_count": 1}
    assert len(s.channels) == 31
    c1, c16, c17 = s.channels[0], s.channels[15], s.channels[16]
    assert (c1.channo, c1.name, c1.sigtype, c1.in_use, c1.ec, c1.ec_active) == \
        (1, "TE4/0/1/1", "Clear", True, "VPMOCT128", True)
    assert (c16.sigtype, c16.in_use, c16.ec) == ("HardHDLC", True, None)
    assert (c17.in_use, c17.ec_active) == (False, False)


def test_r2_span_in_red_alarm() -> None:
    s = parse_proc_span((PROC / "2").read_text())
    assert s.alarms == ("RED",) and s.lineconfig == ("HDB3", "CAS") and not s.master
    assert s.counters == {}
    assert [c.channo for c in s.channels] == list(range(32, 63))
    assert s.channels[15].sigtype == "" and s.channels[0].sigtype == "CAS"


def test_read_dir_orders_by_span_number() -> None:
    spans = read_proc_dir(PROC)
    assert [s.spanno for s in spans] == [1, 2, 3, 4]
    assert spans[2].counters == {"timing_slips": 4}
    assert spans[3].alarms == ("NOTOPEN",)


def test_software_ec_and_other_remarks() -> None:
    text = ('Span 5: WCT13x/0 "Wildcard TE133 Card 0" B8ZS/ESF YELLOW\n'
            '\t   1 WCT13x/0/1 Clear (In use) (SWEC: MG2) (Muted)\n'
            '\t   2 WCT13x/0/2 Hardware-assisted HDLC\n')
    s = parse_proc_span(text)
    c1, c2 = s.channels
    assert (c1.ec, c1.ec_active, c1.flags) == ("MG2", None, ("Muted",))
    assert c2.sigtype == "Hardware-assisted HDLC"
    assert s.alarms == ("YELLOW",)


def test_missing_dir_is_empty(tmp_path: object) -> None:
    assert read_proc_dir(FIXTURES / "no-such-dir") == []


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("Spam 1: x\n", "not a DAHDI span line"),
    ('Span 1: TE4/0/1 "d"\n\t??? what\n', "unrecognised line"),
])
def test_bad_input(text: str, message: str) -> None:
    with pytest.raises(HwConfigError, match=message):
        parse_proc_span(text, "proc/1")
