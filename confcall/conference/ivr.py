"""The service number: an answered IVR for recharge, balance and password change — of the
caller's own number or of any number they key.

What the caller hears and keys is ``ivr_flow.IvrFlow``'s (a pure state machine; its docstring
has the key map): by default the caller is identified by the calling number (ANI) and their
password, then ``1`` recharge with a card, ``2`` balance, ``3`` change password (a
carrier-billed subscriber: ``2`` this month's spending, ``3``); ``*`` at the password prompt —
or a withheld calling number, or one without an account — acts on another number, keyed with
``#`` and read back before use: recharge needs only the card, balance and password need that
number's password.

This module is the adapter: one ``IvrCall`` per answered call plays the prompts the flow
returns, runs its money requests on the store's runner (the same ``rating.ops`` services the
web and the CLI call, with the calling number as ``source`` for their throttles) and feeds
keys, timers and answers back.
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Callable

from twisted.internet.defer import maybeDeferred

from confcall.clock import cancel_pending
from confcall.dahdi.legs import CallLeg, Cause, LegEvent, Presentation
from confcall.dsp.engine import DigitEvent
from confcall.rating import MoneyError, ops

from .ivr_flow import (Action, CheckPin, FlowPolicy, IvrFlow, LookUp, Recharge,
                       Request, Say, Summarize, amount_in_digits, summary_prompts)
from .media import MediaService

__all__ = ["ServiceIvr", "IvrCall", "IvrPolicy", "summary_prompts", "money_call"]

log = logging.getLogger("confcall.ivr")

IvrPolicy = FlowPolicy  # the name the daemon and older callers know


@dataclass(eq=False)
class IvrCall:
    """The adapter between one answered call and its ``IvrFlow``: plays what the flow says,
    runs what it asks of the money services on the store's runner (never on the reactor
    thread), feeds back keys, timers and answers."""
    ivr: "ServiceIvr"
    leg: CallLeg
    account: str | None  # the calling number as E.164 (None: withheld or not a number)
    source: str  # who is trying secrets, for the money services' throttles
    flow: IvrFlow = field(default_factory=IvrFlow)
    heard: list[str] = field(default_factory=list)  # every prompt played, for the operator log
    done: bool = False
    _timer: Any = None

    @property
    def channo(self) -> int:
        assert self.leg.channo is not None
        return self.leg.channo

    @property
    def state(self) -> str:
        return "done" if self.done else self.flow.step.value

    def start(self) -> None:
        self.ivr.media.digit_listeners[self.channo] = self.digit
        self.leg.listener = self.leg_event
        self.act(self.flow.start(self.account))

    def leg_event(self, leg: CallLeg, ev: LegEvent) -> None:
        if ev.kind in ("hangup", "failed", "cleared") and not self.done:
            self.done = True
            self.disarm()
            self.ivr.media.release(self.channo)
            self.ivr.ended(self)

    def digit(self, ev: DigitEvent) -> None:
        if not ev.start or self.done or not self.flow.listening:
            return
        self.ivr.media.stop(self.channo)  # barge-in
        self.act(self.flow.feed(ev.digit))

    def timeout(self) -> None:
        self._timer = None
        if not self.done:
            self.act(self.flow.timeout())

    # -- actions --------------------------------------------------------------------------------
    def act(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Say):
                self.say(list(action.prompts), hangup=action.hangup)
            else:
                self.run(action)
        self.arm()

    def say(self, sounds: list[str], *, hangup: bool = False) -> None:
        self.heard.extend(sounds)
        if self.leg.active:
            then = (lambda: self.leg.hangup(Cause.NORMAL_CLEARING)) if hangup else None
            self.ivr.media.play_sequence(self.channo, sounds, then)

    def arm(self) -> None:
        self.disarm()
        wait = self.flow.timeout_s
        if wait is not None and not self.done:
            self._timer = self.ivr.reactor.callLater(wait, self.timeout)

    def disarm(self) -> None:
        cancel_pending(self._timer)
        self._timer = None

    def run(self, req: Request) -> None:
        """One money request in the DB pool; its answer goes back to the flow."""
        now = self.ivr.now()
        d = self.ivr.runner.call_plain(*money_call(req, self.source, now))

        def ok(result: Any) -> None:
            if not self.done:
                self.act(self.flow.answered(result))

        def bad(f: Any) -> None:
            if self.done:
                return
            if f.check(MoneyError):
                self.act(self.flow.refused(f.value.key))
                return
            log.error("IVR %s: %s failed: %s", self.account, type(req).__name__,
                      f.getErrorMessage())
            self.act(self.flow.failed())

        d.addCallbacks(ok, bad).addErrback(
            lambda f: log.error("IVR %s: %s", self.account, f.getTraceback()))


def money_call(req: Request, source: str, now: datetime) -> tuple[Any, ...]:
    """(function, *args) for ``DbRunner.call_plain``: the same money services the web and the
    CLI use, with ``source`` (the calling number) for their throttles."""
    if isinstance(req, LookUp):
        return (_lookup, req.number, now)
    if isinstance(req, CheckPin):
        return (_authenticate, req.number, req.pin, source, now)
    if isinstance(req, Summarize):
        return (_summary, req.number, req.pin, source, now)
    if isinstance(req, Recharge):
        return (_recharge, req.number, req.serial, req.pin, source, now)
    return (_change_password, req.number, req.old, req.new, req.confirm, source, now)


def _lookup(store: Any, number: str, now: datetime) -> ops.AccountSummary:
    return ops.account_summary(store, number, now)


def _authenticate(store: Any, number: str, pin: str, source: str, now: datetime) -> str:
    return ops.authenticate(store, number, pin, source=source, now=now)


def _summary(store: Any, number: str, pin: str | None, source: str,
             now: datetime) -> ops.AccountSummary:
    """The summary; with ``pin`` (another number's balance) only after that password."""
    if pin is not None:
        number = ops.authenticate(store, number, pin, source=source, now=now)
    return ops.account_summary(store, number, now)


def _recharge(store: Any, number: str, serial: str, pin: str, source: str,
              now: datetime) -> ops.Balance:
    return ops.recharge_by_card(store, number, serial, pin, source=source, now=now)


def _change_password(store: Any, number: str, old: str, new: str, confirm: str, source: str,
                     now: datetime) -> None:
    ops.change_password(store, number, old, new, confirm, source=source, now=now)


class ServiceIvr:
    """Answers calls to the service number (install with ``IncomingRouter.add``)."""

    def __init__(self, reactor: Any, media: MediaService, runner: Any, *,
                 policy: FlowPolicy | None = None,
                 say_amount: Callable[[int], list[str]] | None = None,
                 payer_of: Callable[[str], str | None] | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        """``now``: the UTC time of the reactor's clock (virtual clocks); default the wall
        clock — spending "this month" is counted up to it."""
        self.reactor = reactor
        self.now = now or (lambda: datetime.now(UTC))
        self.media = media
        self.runner = runner
        self.policy = policy or FlowPolicy()
        self.say_amount = say_amount or amount_in_digits
        self.payer_of = payer_of or _default_payer
        self.calls: deque[IvrCall] = deque(maxlen=1000)  # recent calls, for the operator

    def offer(self, leg: CallLeg) -> None:
        shown = leg.presentation is Presentation.ALLOWED and bool(leg.ani)
        account = self.payer_of(leg.ani) if shown else None
        # the throttles' "who": the calling number as E.164, as signalled if it is not one
        source = f"ani:{account or leg.ani}" if shown else "ani:withheld"
        leg.answer()
        call = IvrCall(self, leg, account, source[:100],
                       IvrFlow(policy=self.policy, say_amount=self.say_amount))
        self.calls.append(call)
        log.info("service call from %r (account %s)", leg.ani, account)
        if leg.answered:
            _start(call)
        else:  # MFC/R2 answers a compelled cycle later: greet once the answer is on the line
            leg.listener = lambda _, ev: (_start(call) if ev.kind == "answered" else None)

    def ended(self, call: IvrCall) -> None:
        log.info("service call from %s ended after %s", call.account, call.heard[-3:])


def _start(call: IvrCall) -> None:
    maybeDeferred(call.start).addErrback(
        lambda f: log.error("service call %s did not start: %s", call.account, f.getTraceback()))


def _default_payer(ani: str) -> str | None:
    from confcall.rating.numbers import normalize
    try:
        return normalize(ani)
    except MoneyError:
        return None
