"""Calling the subscriber back and handing the answered call to a conference: the box's side of
the booking scheduler's ``BookedDialer`` seam.

What it does: for one attempt of a phone-mode callback or a booked conference, hold credit for
the initiator's leg and dial them on any free channel of the trunk group; report a failure
with its cause (or a refusal before dialling: no credit, locked); when the initiator answers,
start a ``ConferenceSession`` with them as initiator and payer and hand it back as a
``BookedConference``, through which the scheduler dials the booked participants into that
same session (with their own retries). Which attempt to make, when to retry and what is
recorded is the scheduler's (``confcall.booking.scheduler``): callbacks are rows in the
database, so a restart between the rejection and the callback still calls back.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import maybeDeferred

from confcall.dahdi.legs import CallLeg, LegEvent
from confcall.recent import RecentlyEnded

from .media import MediaService
from .session import ConferenceSession, LegMoney, MoneyPort, RecordPort, Refusal, SessionConfig
from .trunkgroup import TrunkGroup

if TYPE_CHECKING:
    from confcall.booking.leases import DueBooking

__all__ = ["BookedSession", "CallbackPolicy", "CallbackService"]

log = logging.getLogger("confcall.callback")

CALLBACK_WELCOME = ("welcome_callback", "enter_number")
BOOKED_WELCOME = ("welcome_booked",)
DEFAULT_SESSION = SessionConfig()


@dataclass(frozen=True)
class CallbackPolicy:
    delay_s: float = 5.0
    retries: int = 2
    retry_interval_s: float = 30.0
    caller_id: str = ""

    def __post_init__(self) -> None:
        if self.delay_s < 0 or self.retries < 0 or self.retry_interval_s <= 0:
            raise ValueError("callback delay and retries must be >= 0, the interval > 0")


class BookedSession:
    """A conference session as the scheduler sees it (``BookedConference``)."""

    def __init__(self, session: ConferenceSession, welcome_s: float = 0.0) -> None:
        self.session = session
        self.reference = session.reference
        self._ended: list[Callable[[], None]] = []
        # the initiator hears the welcome out before the first progress prompt replaces it
        self._ready_at = float(session.reactor.seconds()) + welcome_s

    @property
    def ended(self) -> bool:
        return self.session.ended

    def invite(self, number: str, *, on_answered: Callable[[], None],
               on_failed: Callable[[int | None, bool], None]) -> None:
        def outcome(kind: str, cause: int | None) -> None:
            if kind == "answered":
                on_answered()
            else:
                on_failed(cause, kind == "refused")

        def invite() -> None:
            if self.session.ended:
                on_failed(None, True)
                return
            self.session.invite_booked(number, on_outcome=outcome)
        wait = self._ready_at - float(self.session.reactor.seconds())
        if wait > 0:
            self.session.reactor.callLater(wait, invite)
        else:
            invite()

    def when_ended(self, fn: Callable[[], None]) -> None:
        self._ended.append(fn)

    def closed(self) -> None:
        for fn in self._ended:
            try:
                fn()
            except Exception:  # one watcher must not stop the others
                log.exception("conference %s: end watcher failed", self.reference)


def _job_over(job: Any) -> bool:
    """A scheduler's ``BookedCall`` that will not dial or hold a conference any more."""
    return job.state in ("done", "given_up", "cancelled") or getattr(job, "_dropped", False)


class CallbackService:
    """Dials initiators for the booking scheduler and starts their conferences."""

    def __init__(self, reactor: Any, trunks: TrunkGroup, media: MediaService, money: MoneyPort,
                 records: RecordPort, *, policy: CallbackPolicy = CallbackPolicy(),
                 session_config: SessionConfig = DEFAULT_SESSION,
                 say: Callable[[int], list[str]] | None = None,
                 on_session: Callable[[ConferenceSession], None] | None = None) -> None:
        self.reactor = reactor
        self.trunks = trunks
        self.media = media
        self.money = money
        self.records = records
        self.policy = policy
        self.session_config = session_config
        self.say = say
        self.on_session = on_session
        # callbacks (the scheduler's BookedCall of each, appended by the daemon) and
        # conferences: every live one, and those ended in the last ten minutes (recent.py)
        self.jobs: RecentlyEnded[Any] = RecentlyEnded(reactor, _job_over)
        self.sessions: RecentlyEnded[ConferenceSession] = RecentlyEnded(
            reactor, lambda s: s.ended)

    def dial_initiator(self, job: DueBooking, conference_ref: str, leg_ref: str, *,
                       on_answered: Callable[[BookedSession], None],
                       on_failed: Callable[[int | None, bool], None]) -> None:
        """One attempt: hold credit, dial ``job.initiator_dial``; on answer the conference."""
        holder: list[ConferenceSession] = []

        # The initiator's credit timers only run once answered, i.e. once the session exists.
        def warning(ref: str, left: int) -> None:
            if holder:
                holder[0]._credit_warning(ref, left)

        def exhausted(ref: str) -> None:
            if holder:
                holder[0]._credit_exhausted(ref)

        d = maybeDeferred(self.money.authorize, job.payer, conference_ref, leg_ref,
                          job.initiator_dial, on_warning=warning, on_exhausted=exhausted)

        def refused(f: Any) -> None:
            reason = f.value.prompt if isinstance(f.value, Refusal) else "failed"
            log.warning("call to %s (%s) refused before dialling: %s (%s)", job.initiator_dial,
                        job.reference, reason, f.getErrorMessage())
            on_failed(None, True)

        def dial(money: LegMoney) -> None:
            def on_event(leg: CallLeg, ev: LegEvent) -> None:
                if ev.kind == "answered":
                    money.answered()
                    booked = self._start_session(job, leg, money, conference_ref, leg_ref)
                    holder.append(booked.session)
                    on_answered(booked)
                elif ev.kind == "failed":
                    self.records.leg_ended(leg_ref, leg)
                    money.failed()
                    on_failed(ev.cause, False)

            try:
                leg = self.trunks.dial(job.initiator_dial, self.policy.caller_id,
                                       listener=on_event)
            except ValueError as e:  # not a number the trunk can dial
                money.failed()
                log.warning("cannot dial %s (%s): %s", job.initiator_dial, job.reference, e)
                on_failed(None, True)
                return
            self.records.leg_started(conference_ref, leg, leg_ref, "callback")

        d.addCallbacks(dial, refused)
        d.addErrback(lambda f: log.error("calling %s (%s) failed: %s", job.initiator_dial,
                                         job.reference, f.getTraceback()))

    def _start_session(self, job: DueBooking, leg: CallLeg, money: LegMoney, conf_ref: str,
                       leg_ref: str) -> BookedSession:
        from confcall.booking.states import BookingKind
        kwargs: dict[str, Any] = {}
        if self.say is not None:
            kwargs["say"] = self.say
        session = ConferenceSession(self.reactor, self.media, self.trunks, self.money,
                                    self.records, job.payer, leg, initiator_money=money,
                                    initiator_ref=leg_ref, caller_id=self.policy.caller_id,
                                    config=self.session_config, reference=conf_ref, **kwargs)
        self.sessions.append(session)
        if job.kind is BookingKind.CONFERENCE:
            booked = BookedSession(session, welcome_s=sum(
                self.media.duration(k) for k in BOOKED_WELCOME))
            session.start(welcome=BOOKED_WELCOME, booked=len(job.participants))
            if job.music:  # booked with background music: on from the start ("9" toggles)
                session.music.set_background(True)
        else:
            booked = BookedSession(session)
            session.start()
        if self.on_session is not None:
            self.on_session(session)
        outer = session.on_end

        def ended(s: ConferenceSession) -> None:
            if outer is not None:
                outer(s)
            booked.closed()
        session.on_end = ended
        return booked
