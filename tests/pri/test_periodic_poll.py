"""Item 2 of issue 13: the 100 ms trunk poll (on hardware the only route to DAHDI alarm events)
survives an exception: a failed GETEVENT or SPANSTAT is logged and the next poll still clears
the calls of a dead line."""
import errno
import logging

from twisted.internet import task

from confcall.clock import every
from confcall.dahdi.legs import Cause, LegState
from confcall.sim import SimPhone


def _answered(h, number):
    h.switch.add_phone(SimPhone(number, answer_after=0.5))
    leg = h.trunk.dial(number)
    assert h.run_until(lambda: leg.answered, 5)
    return leg


def _poll_like_the_daemon(h):
    """Service the trunk from ``every`` at 100 ms as the daemon does, not from the tick."""
    h.clock.remove_hook(h.trunk.service)
    return every(h.reactor, 0.1, h.trunk.service)


def test_alarm_clears_calls_after_the_poll_failed_once(pri, caplog):
    h = pri()
    legs = [_answered(h, f"1380013800{i}") for i in range(2)]
    loop = _poll_like_the_daemon(h)
    h.card.device.fail_ioctl("DAHDI_GETEVENT", errno.EIO, times=1)
    h.card.spans[0].raise_alarm("RED", "LOS")
    with caplog.at_level(logging.ERROR, logger="confcall.clock"):
        h.run(1.0)
    assert loop.running
    assert loop.guard.failures == 1
    assert any("periodic" in r.getMessage() and "failed" in r.getMessage()
               for r in caplog.records)
    assert all(leg.state is LegState.CLEARED for leg in legs)
    assert all(leg.cause == Cause.NETWORK_OUT_OF_ORDER for leg in legs)
    loop.stop()


def test_alarm_clears_calls_when_spanstat_fails(pri):
    h = pri()
    leg = _answered(h, "13800138000")
    loop = _poll_like_the_daemon(h)
    h.card.device.fail_ioctl("DAHDI_SPANSTAT", errno.ENODEV, times=-1)
    h.card.spans[0].raise_alarm("RED")
    h.run(0.5)
    assert leg.state is LegState.CLEARED and leg.cause == Cause.NETWORK_OUT_OF_ORDER
    assert any("span alarm ? (SPANSTAT failed)" in s for s in h.status)
    assert loop.running and loop.guard.failures == 0
    loop.stop()


def test_every_logs_and_goes_on_and_reports_recovery(caplog):
    clock = task.Clock()
    calls = []

    def flaky():
        calls.append(clock.seconds())
        if len(calls) <= 3:
            raise OSError(errno.EIO, "SPANSTAT failed")

    with caplog.at_level(logging.WARNING, logger="confcall.clock"):
        loop = every(clock, 0.1, flaky, name="poll")
        for _ in range(10):
            clock.advance(0.1)
    assert len(calls) == 10 and loop.running
    assert loop.guard.failures == 3 and loop.guard.failing == 0
    msgs = [r.getMessage() for r in caplog.records]
    assert sum("periodic poll failed" in m for m in msgs) == 1  # traceback once, not per tick
    assert any("periodic poll recovered after 3 failure(s)" in m for m in msgs)
    loop.stop()
