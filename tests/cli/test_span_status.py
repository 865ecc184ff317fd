"""`confcall span status` and `confcall demo` against the simulated span."""
import io
import json

from click.testing import CliRunner
from twisted.internet import task

from confcall.cli import main
from confcall.dahdi import using_userspace
from confcall.demo import DemoSession


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


def test_demo_shows_alarm_raised_and_cleared_in_virtual_time():
    clock = task.Clock()
    out = io.StringIO()
    session = DemoSession(clock, out, duration=16.0, live_screen=False)
    session.start()
    for _ in range(int(16.5 / 0.02)):
        clock.advance(0.02)
    text = out.getvalue()
    assert session.done and not using_userspace()
    assert "card up: 2 E1 spans, 60 B-channels, D-channels [16, 47]" in text
    assert ("span 2: DAHDI event ALARM on D-channel 47; SPANSTAT alarms=RED/LOS BPV=17 "
            "CRC4=5 FAS=2") in text
    assert "span 2: DAHDI event NOALARM on D-channel 47; SPANSTAT alarms=none" in text
    assert "span 1: DAHDI event ALARM on D-channel 16; SPANSTAT alarms=YELLOW" in text
    assert "span 1: DAHDI event NOALARM on D-channel 16" in text
    assert session.alarm_events == 4
    # the status screen during the fault shows span 2 in alarm, then OK again
    assert "E1 HDB3/CCS/CRC4  ALARM RED/LOS  sync=0" in text
    # audio crossed: the looped-back tone channels are shown in use
    assert "in use 3  A-law" in text
    assert text.index("ALARM RED/LOS") < text.index("NOALARM on D-channel 47")
