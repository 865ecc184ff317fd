"""A booking's life cycle as names the code can check, and the moves allowed between them.

::

    booked ──► claimed ──► dialing ──► in_progress ──► done
      │  ▲        │  │        │ ▲            │
      │  └─lease──┘  │        │ └─box lost───┤ (mid-call, redials left: the next attempt)
      │   released   ▼        └──► failed ◄──┘ (initiator never answered; box lost mid-call
      │                                          with no redial left)
      ├────────► cancelled   (subscriber or NOC; refused once dialing)
      └────────► missed      (due while no box ran, past the grace)

``claimed``: a box holds the lease and will dial at the start time. ``dialing``: the initiator
is being called (with the booked retries). ``in_progress``: the initiator answered, the
conference runs. A lease that expires in ``claimed`` or ``dialing`` is taken over by another
box without changing the state (the attempts table says what was done); one that expires in
``in_progress`` (the box died mid-call) goes back to ``dialing`` for the initiator's next
attempt when the booking has redials left, else to ``failed``.

Every state change in the database is one conditional ``UPDATE … WHERE state IN (<allowed
predecessors>)``, so a cancel racing the dialer, or two boxes racing for a row, has exactly one
winner; ``predecessors(target)`` gives that set from the table below.
"""
from __future__ import annotations

import enum

__all__ = ["ACTIVE", "FINAL", "HELD", "AttemptResult", "BookingKind", "BookingState",
           "IllegalTransition", "check_transition", "predecessors", "result_for_cause"]


class BookingState(enum.StrEnum):
    BOOKED = "booked"
    CLAIMED = "claimed"
    DIALING = "dialing"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    MISSED = "missed"


class BookingKind(enum.StrEnum):
    CONFERENCE = "conference"  # booked for a time, with participants (web mode)
    CALLBACK = "callback"  # the access number's callback (phone mode)


class AttemptResult(enum.StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"  # no channel, here or in the network
    FAILED = "failed"  # any other cause
    REFUSED = "refused"  # not dialled: no credit, blocked, account locked
    LOST = "lost"  # the box serving it died; the outcome is unknown


S = BookingState
TRANSITIONS: dict[BookingState, frozenset[BookingState]] = {
    S.BOOKED: frozenset({S.CLAIMED, S.CANCELLED, S.MISSED}),
    S.CLAIMED: frozenset({S.BOOKED, S.DIALING, S.CANCELLED, S.MISSED}),
    S.DIALING: frozenset({S.IN_PROGRESS, S.FAILED}),
    S.IN_PROGRESS: frozenset({S.DONE, S.FAILED, S.DIALING}),  # dialing: its box died mid-call
    S.DONE: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.MISSED: frozenset(),
}
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
ACTIVE = frozenset(BookingState) - FINAL  # still to be served, or being served
HELD = frozenset({S.CLAIMED, S.DIALING, S.IN_PROGRESS})  # a box holds the lease


class IllegalTransition(ValueError):
    pass


def predecessors(target: BookingState) -> frozenset[BookingState]:
    """The states from which ``target`` may be entered."""
    return frozenset(s for s, nxt in TRANSITIONS.items() if target in nxt)


def check_transition(current: BookingState, target: BookingState) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"a booking cannot go from {current} to {target}")


_BUSY, _NO_ANSWER = {17}, {18, 19}
_CONGESTION = {34, 42, 44}


def result_for_cause(cause: int | None) -> AttemptResult:
    """How a failed dial reads to a subscriber, from its Q.850 cause."""
    if cause in _BUSY:
        return AttemptResult.BUSY
    if cause in _NO_ANSWER:
        return AttemptResult.NO_ANSWER
    if cause in _CONGESTION:
        return AttemptResult.CONGESTION
    return AttemptResult.FAILED
