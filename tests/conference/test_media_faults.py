"""Item 1 of issue 13: a fault in the media path is never silent. A channel whose GETEVENT fails
with ENODEV (the card went away under it) is taken out of service, its call is cleared with
cause 41 on the wire and the NOC sees the alarm; the other calls keep their audio. A media
thread whose every tick fails stops after a second, says why, and the box clears the calls
nobody can hear any more and starts the engine again."""
import errno
import threading

import pytest

from confcall.control_socket import handle
from confcall.dahdi.constants import Event
from confcall.dsp.engine import FAULTS_BEFORE_STOP, MediaEngine, MediaFault

from box_harness import audio, prompts_heard
from scenarios import called_back

A, B = "13800138000", "13900139000"


def _conference(bx):
    bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=1.0, voice_hz=440.0, talk_on_answer=True)
    called_back(bx, a)
    a.press(B + "#")
    assert bx.run_until(lambda: b.calls and b.last.connected, 10)
    bx.run(2)
    return bx.sessions[-1], a.last, b.last


@pytest.mark.parametrize("how", ["getevent_enodev", "removed_event"])
def test_dead_channel_clears_its_call_with_41_and_raises_the_alarm(box, how):
    bx = box()
    s, cb, part = _conference(bx)
    sim = bx.card.spans[0]
    channo = sim.channel(part.chanpos).channo
    if how == "getevent_enodev":
        bx.card.device.fail_ioctl("DAHDI_GETEVENT", errno.ENODEV, times=-1, channo=channo)
        sim.channel(part.chanpos).queue_event(Event.WRITE_UNDERRUN)  # reads now say ELAST
    else:
        sim.channel(part.chanpos).queue_event(Event.REMOVED)
    bx.run(2)
    assert part.ended and part.cleared_by == "confcall" and part.cause == 41
    assert not cb.ended  # the initiator's call goes on, and is heard: prompts reach it
    t = bx.reactor.seconds()
    bx.run(3)
    heard = prompts_heard(audio(cb, t - 2, t + 3))
    assert "participant_left" in heard or "last_participant_left" in heard, heard
    st = handle(bx.daemon, '{"cmd": "span_status"}')
    assert st["ok"] and st["media"]["alarm"]
    assert str(channo) in {str(k) for k in st["media"]["out_of_service"]}
    assert "ENODEV" in st["media"]["out_of_service"][channo]
    assert st["trunks"][1]["out_of_service"] == [part.chanpos]
    assert any(f"channel {channo} out of service" in a["text"] for a in st["media"]["alarms"])
    # no new call lands on the dead channel
    assert bx.trunks[0].free_channels() == 30 - 2


def _failing_engine():
    eng = MediaEngine(4, 2, echo_cancel=False)
    faults: list[MediaFault] = []
    done = threading.Event()

    def on_fault(f):
        faults.append(f)
        if f.fatal:
            done.set()

    eng.on_fault = on_fault

    def read(rx):
        raise OSError(errno.ENODEV, "channel 7: read failed")

    return eng, faults, done, read


def test_media_thread_that_keeps_failing_stops_and_says_why():
    eng, faults, done, read = _failing_engine()
    eng.start(read, lambda tx: None)
    assert done.wait(30)
    eng.wait(10)
    assert not eng.running
    assert [f.fatal for f in faults] == [False, True]
    assert "ENODEV" in faults[0].cause and "ENODEV" in eng.failed
    assert f"{FAULTS_BEFORE_STOP} failing tick(s)" in eng.failed
    # and it can be started again (what the box does one second later)
    ok = threading.Event()

    def good_read(rx):
        ok.set()
        return False

    eng.start(good_read, lambda tx: None)
    assert ok.wait(10)
    eng.wait(10)
    assert eng.failed == ""


def test_box_clears_every_call_when_the_engine_gave_up_and_restarts_it(box):
    bx = box()
    s, cb, part = _conference(bx)
    eng, faults, done, read = _failing_engine()
    eng.start(read, lambda tx: None)
    assert done.wait(30)
    fatal = faults[-1]
    bx.daemon.media.engine.failed = eng.failed  # the box's engine gave up that way
    bx.daemon.media_faults.fault(fatal)
    bx.run(0.5)
    assert cb.ended and part.ended and cb.cause == 41 and part.cause == 41
    st = handle(bx.daemon, '{"cmd": "span_status"}')["media"]
    assert st["alarm"] and "ENODEV" in st["failed"]
    bx.run(1.0)
    st = handle(bx.daemon, '{"cmd": "span_status"}')["media"]
    assert st["restarts"] == 1 and st["failed"] == "" and st["running"]
