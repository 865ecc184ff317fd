"""The two-party conference, as one scenario for the tests that need a box that carried (or
carries) a call: the NOC's logs and metrics, the control socket, the daemon's shutdown.

A (the payer, funded) calls the access number and is refused on-hook, is called back and
answers, keys B's number; B answers. ``two_party_conference`` returns there, with the
conference live; ``hang_up_and_settle`` lets A hang up and returns once every leg is cleared
and every money and record write has committed, so what a test reads from the database or the
metrics is final (no virtual seconds left to guess)."""
from __future__ import annotations

from dataclasses import dataclass

from box_harness import ACCESS
from phone_scenario import A, B  # the same subscribers as the three-party scenario

__all__ = ["A", "B", "TwoParty", "called_back", "hang_up_and_settle", "settled",
           "two_party_conference"]


@dataclass
class TwoParty:
    payer: str  # A's account (E.164)
    access: object  # the switch's record of A's call to the access number (refused on-hook)
    a: object  # A's phone: a.last is the callback
    b: object  # B's phone: b.last is the invitation


def called_back(bx, phone, *, hear_prompt: bool = True):
    """The opening of every phone-mode call: ``phone`` (made by ``bx.phone``) dials the access
    number, is refused on-hook, and answers the callback. With ``hear_prompt`` the "enter
    number" prompt has played (1.5 virtual s) so the next key starts a number. Returns the
    switch's record of the access call; ``phone.last`` is the answered callback."""
    access = bx.switch.place_call(phone.number, ACCESS)
    assert bx.run_until(lambda: access.ended, 10)
    assert bx.run_until(lambda: len(phone.calls) == 2 and phone.last.connected, 15)
    if hear_prompt:
        bx.run(1.5)
    return access


def two_party_conference(bx, *, keys: str = "##", talk_s: float = 5.0) -> TwoParty:
    """A's callback conference with B, live after ``talk_s`` virtual seconds of talk.

    ``keys``: what A presses after B's number: ``#`` (end of the number; inviting goes on
    until its pause) or ``##`` (the conversation starts at once)."""
    payer = bx.account(A)
    a = bx.phone(A, answer_after=1.0)
    b = bx.phone(B, answer_after=1.0)
    access = called_back(bx, a)
    a.press(B + keys)
    assert bx.run_until(lambda: bool(b.calls) and b.last.connected, 10)
    bx.run(talk_s)
    return TwoParty(payer, access, a, b)


def settled(bx) -> bool:
    """Every conference ended, every channel free, every money and record write committed."""
    return (all(s.ended for s in bx.sessions)
            and all(t.free_channels() == len(t.bchans) for t in bx.trunks)
            and bx.daemon.writes.idle())


def hang_up_and_settle(bx, call: TwoParty) -> None:
    """A hangs up (normal clearing); returns once both legs ended and ``settled(bx)``."""
    bx.switch.hangup(call.a.last)
    assert bx.run_until(lambda: call.a.last.ended and call.b.last.ended, 15)
    assert bx.run_until(lambda: settled(bx), 5)
