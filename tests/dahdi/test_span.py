"""Span: SPANSTAT (alarms, counters), events on alarm changes, D-channel frames, open errors."""
import errno
import socket

import pytest

from confcall.dahdi import Alarm, DahdiError, Event, Span, span_status


def test_spanstat_reports_line_facts(make_card):
    make_card([("E1", "pri"), ("T1", "pri")])
    e1, t1 = span_status(1), span_status(2)
    assert (e1.name, e1.spantype, e1.totalchans, e1.numchans) == ("SIM/0/1", "E1", 31, 31)
    assert (t1.spantype, t1.totalchans) == ("T1", 24)
    assert e1.alarms == 0 and e1.ok and e1.alarm_names == ()
    assert e1.syncsrc == 1


def test_r2_span_has_30_configured_channels(make_card):
    make_card([("E1", "cas")])
    with Span.open(1, range(1, 32)) as span:
        assert len(span.cas) == 30 and span.dchannel is None
        assert 16 in span.failed and span.failed[16].errno == errno.ENXIO
        assert span.status().numchans == 30


@pytest.mark.parametrize("alarm, bits", [("RED", Alarm.RED), ("BLUE", Alarm.BLUE),
                                         ("YELLOW", Alarm.YELLOW), ("LOOPBACK", Alarm.LOOPBACK)])
def test_alarm_raised_and_cleared_is_seen_as_events_and_spanstat(make_card, alarm, bits):
    card = make_card()
    with Span.open(1, range(1, 32)) as span:
        assert span.poll_events() == []
        card.spans[0].raise_alarm(alarm)
        events = span.poll_events()
        assert {e.channo for e in events} == set(range(1, 32))
        assert {e.event for e in events} == {Event.ALARM}
        st = span.status()
        assert st.alarms & bits and alarm in st.alarm_names and not st.ok
        assert span.bchannels[0].params().alarms & bits
        card.spans[0].clear_alarm()
        events = span.poll_events()
        assert {e.event for e in events} == {Event.NOALARM} and len(events) == 31
        assert span.status().ok and span.poll_events() == []


def test_error_counters(make_card):
    card = make_card()
    card.spans[0].add_errors(bpv=3, crc4=1, ebit=2, fas=5)
    st = span_status(1)
    assert (st.bpv, st.crc4, st.ebit, st.fas) == (3, 1, 2, 5)
    with pytest.raises(ValueError):
        card.spans[0].add_errors(bpv=-1)


def test_unknown_span_and_bad_alarm_names(make_card):
    card = make_card()
    with pytest.raises(DahdiError) as e:
        span_status(7)
    assert "span 7" in str(e.value) and e.value.errno == errno.EINVAL
    with pytest.raises(DahdiError):
        span_status(0)
    with pytest.raises(ValueError, match="unknown alarm 'PURPLE'"):
        card.spans[0].raise_alarm("PURPLE")


def test_span_open_rejects_foreign_channel_keeps_the_rest(make_card):
    make_card([("E1", "pri"), ("E1", "pri")])
    with Span.open(1, [1, 2, 33]) as span:
        assert [c.channo for c in span.bchannels] == [1, 2]
        assert "belongs to span 2" in str(span.failed[33])


def test_dchannel_frames_cross_whole_and_stop_while_line_down(make_card):
    card = make_card()
    sim = card.spans[0]
    peer: socket.socket = sim.dchannel_peer
    with Span.open(1, range(1, 32)) as span:
        d = span.dchannel
        assert d is not None and d.channo == 16
        frame = bytes([0x02, 0x01, 0x01, 0x7F, 0, 0])  # SABME-ish + 2 FCS placeholder bytes
        d.write(frame)
        sim.pump_dchannel()
        assert peer.recv(1024) == frame
        peer.send(b"\x00\x01\x7f\x00\x00")
        peer.send(b"\x02\x01\x01\x00\x00\x00\x00")
        sim.pump_dchannel()
        assert d.read() == b"\x00\x01\x7f\x00\x00"  # one read = one frame
        assert d.read() == b"\x02\x01\x01\x00\x00\x00\x00"
        sim.raise_alarm("RED", "LOS")
        assert [e.event for e in span.poll_events() if e.channo == 16] == [Event.ALARM]
        d.write(frame)
        sim.pump_dchannel()
        with pytest.raises(BlockingIOError):
            peer.recv(1024)
        assert sim.dframes_dropped == 1
