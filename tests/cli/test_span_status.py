"""`confcall span status` and `confcall demo` against the simulated span."""
import json

from click.testing import CliRunner
from confcall.cli import main
from confcall.dahdi import using_userspace


def test_span_status_text_shows_alarm_free_spans_and_channel_map():
    r = CliRunner().invoke(main, ["span", "status", "--sim", "E1:pri,E1:cas,T1:pri"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith('Span 1  SIM/0/1  "Simulated E1 PRI span 1"  E1 HDB3/CCS/CRC4  OK')
    assert "  map       " + "B" * 15 + "D" + "B" * 15 in lines
    assert "  map       " + "C" * 15 + "-" + "C" * 15 in lines
    assert "  map       " + "B" * 23 + "D" in lines
    assert "  channels  63-86  configured 24/24  in use 0  μ-law" in lines
    assert not using_userspace()  # the CLI put libc back


def test_span_status_json():
    r = CliRunner().invoke(main, ["span", "status", "--json", "--sim", "E1:pri,E1:pri"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [s["span"]["spanno"] for s in doc["spans"]] == [1, 2]
    s2 = doc["spans"][1]
    assert s2["span"]["ok"] is True and s2["span"]["alarm_names"] == []
    assert s2["channels"][0]["channo"] == 32 and s2["channels"][15]["sigtype"] == "HDLCFCS"
    assert s2["map"][15] == "D"


def test_span_status_bad_sim_spec_and_missing_driver():
    r = CliRunner().invoke(main, ["span", "status", "--sim", "J1:isdn"])
    assert r.exit_code == 2 and "LINE E1|T1" in r.output
    r = CliRunner().invoke(main, ["span", "status"])
    assert r.exit_code == 1
    assert "open /dev/dahdi/ctl failed: [ENOENT]" in r.output and "--sim" in r.output
