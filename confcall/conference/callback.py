"""Calling the subscriber back, with retries, and handing the answered call to a conference.

What it does: for each ``CallbackRequest`` (phone mode) or booking (web mode), after the
configured delay, hold credit for the callback leg and dial the subscriber on any free channel
of the trunk group; busy, no answer and congestion are retried ``retries`` times every
``retry_interval_s``; any other failure (unallocated number, barred) is final. When the
subscriber answers, a ``ConferenceSession`` starts with them as initiator and payer. Every
attempt is a recorded leg; a request that is finally given up is logged with its causes.
"""
from __future__ import annotations

import itertools
from collections import deque
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from twisted.internet.defer import maybeDeferred

from confcall.dahdi.legs import CallLeg, Cause, LegEvent

from .media import MediaService
from .session import ConferenceSession, LegMoney, MoneyPort, RecordPort, Refusal, SessionConfig
from .trunkgroup import TrunkGroup

__all__ = ["CallbackService", "CallbackPolicy", "CallbackJob"]

log = logging.getLogger("confcall.callback")

RETRY_CAUSES = {Cause.USER_BUSY, Cause.NO_ANSWER, Cause.NO_USER_RESPONSE, Cause.CONGESTION,
                Cause.SWITCH_CONGESTION, Cause.TEMPORARY_FAILURE, Cause.SUBSCRIBER_ABSENT,
                Cause.NETWORK_OUT_OF_ORDER}
_jobs = itertools.count(1)


@dataclass(frozen=True)
class CallbackPolicy:
    delay_s: float = 5.0
    retries: int = 2
    retry_interval_s: float = 30.0
    caller_id: str = ""

    def __post_init__(self) -> None:
        if self.delay_s < 0 or self.retries < 0 or self.retry_interval_s <= 0:
            raise ValueError("callback delay and retries must be >= 0, the interval > 0")


@dataclass(eq=False)
class CallbackJob:
    """One subscriber to call back (and, for a booking, whom to invite once they answer)."""

    number: str  # as dialled back (national form, as the ANI came in)
    payer: str  # the account (E.164)
    participants: tuple[str, ...] = ()
    retries: int = 2
    retry_interval_s: float = 30.0
    attempts: list[tuple[float, int | None]] = field(default_factory=list)
    state: str = "waiting"  # waiting | dialing | answered | given_up
    session: ConferenceSession | None = None
    id: int = field(default_factory=lambda: next(_jobs))
    on_done: Callable[["CallbackJob"], None] | None = None


class CallbackService:
    def __init__(self, reactor: Any, trunks: TrunkGroup, media: MediaService, money: MoneyPort,
                 records: RecordPort, *, policy: CallbackPolicy = CallbackPolicy(),
                 session_config: SessionConfig = SessionConfig(),
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
        # recent jobs and conferences (bounded; live ones are also held by their timers/legs)
        self.jobs: deque[CallbackJob] = deque(maxlen=2000)
        self.sessions: deque[ConferenceSession] = deque(maxlen=2000)

    def request(self, number: str, payer: str, *, participants: tuple[str, ...] = (),
                delay_s: float | None = None, retries: int | None = None,
                retry_interval_s: float | None = None) -> CallbackJob:
        job = CallbackJob(number, payer, participants,
                          self.policy.retries if retries is None else retries,
                          self.policy.retry_interval_s if retry_interval_s is None
                          else retry_interval_s)
        self.jobs.append(job)
        delay = self.policy.delay_s if delay_s is None else delay_s
        self.reactor.callLater(delay, self._attempt, job)
        return job

    def _attempt(self, job: CallbackJob) -> None:
        job.state = "dialing"
        conf_ref = f"cb{job.id}-{int(self.reactor.seconds() * 1000)}"
        leg_ref = f"{conf_ref}/0"
        # The initiator's credit timers only run once answered, i.e. once the session exists.
        d = maybeDeferred(self.money.authorize, job.payer, conf_ref, leg_ref, job.number,
                          on_warning=lambda ref, left: job.session and
                          job.session._credit_warning(ref, left),
                          on_exhausted=lambda ref: job.session and
                          job.session._credit_exhausted(ref))

        def refused(f: Any) -> None:
            prompt = f.value.prompt if isinstance(f.value, Refusal) else "failed"
            log.warning("callback %s to %s refused before dialling: %s", job.id, job.number,
                        f.getErrorMessage())
            job.attempts.append((float(self.reactor.seconds()), None))
            self._give_up(job, prompt)

        d.addCallbacks(lambda money: self._dial(job, conf_ref, leg_ref, money), refused)

    def _dial(self, job: CallbackJob, conf_ref: str, leg_ref: str, money: LegMoney) -> None:
        def on_event(leg: CallLeg, ev: LegEvent) -> None:
            if ev.kind == "answered":
                job.state = "answered"
                money.answered()
                self._start_session(job, leg, money, conf_ref, leg_ref)
            elif ev.kind == "failed":
                job.attempts.append((float(self.reactor.seconds()), ev.cause))
                self.records.leg_ended(leg_ref, leg)
                money.failed()
                self._retry_or_give_up(job, ev.cause)

        leg = self.trunks.dial(job.number, self.policy.caller_id, listener=on_event)
        self.records.leg_started(conf_ref, leg, leg_ref, "callback")

    def _retry_or_give_up(self, job: CallbackJob, cause: int | None) -> None:
        tries = len(job.attempts)
        if cause in RETRY_CAUSES and tries <= job.retries:
            job.state = "waiting"
            log.info("callback %s to %s failed (cause %s), retry %d/%d in %.0f s", job.id,
                     job.number, cause, tries, job.retries, job.retry_interval_s)
            self.reactor.callLater(job.retry_interval_s, self._attempt, job)
        else:
            self._give_up(job, f"cause {cause}")

    def _give_up(self, job: CallbackJob, why: str) -> None:
        job.state = "given_up"
        log.warning("callback %s to %s given up after %d attempt(s): %s", job.id, job.number,
                    len(job.attempts), why)
        if job.on_done is not None:
            job.on_done(job)

    def _start_session(self, job: CallbackJob, leg: CallLeg, money: LegMoney, conf_ref: str,
                       leg_ref: str) -> None:
        kwargs: dict[str, Any] = {}
        if self.say is not None:
            kwargs["say"] = self.say
        session = ConferenceSession(self.reactor, self.media, self.trunks, self.money,
                                    self.records, job.payer, leg, initiator_money=money,
                                    initiator_ref=leg_ref, caller_id=self.policy.caller_id,
                                    config=self.session_config, reference=conf_ref, **kwargs)
        job.session = session
        self.sessions.append(session)
        session.start()
        for number in job.participants:
            session.invite_booked(number)
        if self.on_session is not None:
            self.on_session(session)
        if job.on_done is not None:
            job.on_done(job)
