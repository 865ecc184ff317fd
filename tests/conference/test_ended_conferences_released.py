"""An ended conference is let go: ten minutes after it ended nothing in the box still holds it
(its legs, members, keypad, credit grants), only what is live or ended lately is listed.

Why: a box under steady load ends conferences at a steady rate; any list that keeps them by
count (the booking scheduler's ``calls`` was a ``deque(maxlen=2000)``) holds each ended
conference's whole object graph until it fills, about 80 minutes of 8 loaded E1s: the soak's
creeping RSS (bench/soak.py, issue 13). This runs whole conferences on the simulated span and
asks the garbage collector whether the ended ones are still alive anywhere.
"""
from __future__ import annotations

import gc
import weakref

from confcall.conference.session import ConferenceSession

from box_harness import ACCESS

INITIATORS = ("13800138001", "13800138002", "13800138003", "13800138004")
PARTICIPANTS = ("13900139001", "13900139002", "13900139003", "13900139004")


def _conference(bx, a, b):
    """A calls in, is called back, keys B in; returns (session, the callback's record)."""
    access = bx.switch.place_call(a.number, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert bx.run_until(lambda: len(a.calls) == 2 and a.last.connected, 15)
    assert bx.run_until(lambda: any(s.initiator_leg.number == a.number and not s.ended
                                    for s in bx.sessions), 5)
    session = next(s for s in bx.sessions if s.initiator_leg.number == a.number
                   and not s.ended)
    bx.run(1.5)
    a.press(b.number + "#")
    assert bx.run_until(lambda: len(session.members) == 1 and
                        session.members[0].state == "joined", 15)
    return session, a.last


def _alive_sessions() -> set[ConferenceSession]:
    gc.collect()
    return {o for o in gc.get_objects() if isinstance(o, ConferenceSession)}


def test_conferences_ended_ten_minutes_ago_are_held_nowhere(box):
    """Two conferences end; a third runs for eleven minutes; a fourth starts: the first two
    are gone from the box's lists and from memory, the live ones are listed."""
    bx = box()
    pairs = []
    for n, p in zip(INITIATORS, PARTICIPANTS, strict=True):
        bx.account(n)
        pairs.append((bx.phone(n, answer_after=1.0), bx.phone(p, answer_after=1.0)))
    ended = []
    for a, b in pairs[:2]:
        session, cb = _conference(bx, a, b)
        bx.run(5)
        bx.switch.hangup(cb, 16)  # the initiator hangs up: the conference ends
        assert bx.run_until(lambda s=session: s.ended, 10)
        ended.append(weakref.ref(session))
        del session
    long_one, _ = _conference(bx, *pairs[2])
    bx.run(11 * 60)  # past the ten minutes the box lists ended conferences for
    new, _ = _conference(bx, *pairs[3])
    assert set(bx.sessions) == {long_one, new}, "live conferences are listed, old ones not"
    assert _alive_sessions() == {long_one, new}  # (after a full collection)
    assert [r() for r in ended] == [None, None], "an ended conference is still held"
    assert len(bx.callbacks.jobs) == 2 and len(bx.daemon.scheduler.calls) == 2
