"""The service number: an answered IVR for recharge, balance and password change.

What the caller hears and keys (every entry ends with ``#``; keys interrupt a prompt):
the caller is identified by the calling number (ANI) and their password (numeric PIN);
then ``1`` recharge with a card (card number ``#``, card PIN ``#``; the new balance is read
back), ``2`` balance, ``3`` change password (old ``#``, new ``#``, new again ``#``). A
carrier-billed subscriber has no balance and nothing to recharge: their menu offers ``2`` what
was spent this month (and what is left under a monthly limit) and ``3``. Three wrong
passwords in this call end it; the account-level lockout (rating) outlives the call, and so
does the card-level one. Ten seconds of silence re-prompt; the third time ends the call.

How it works: one ``IvrCall`` per answered call, a small state machine fed by digits (from the
media engine), prompt completions and timers; every money step is a Deferred from the DB pool.
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

from .media import MediaService

__all__ = ["ServiceIvr", "IvrCall", "IvrPolicy", "summary_prompts"]

log = logging.getLogger("confcall.ivr")

CARD_PROMPTS = {
    "card.unknown": "ivr_card_invalid",
    "card.malformed": "ivr_card_invalid",
    "card.wrong_pin": "ivr_wrong_pin",
    "card.state": "ivr_card_used",
    "card.expired": "ivr_card_expired",
    "card.locked": "ivr_card_locked",
    "card.account_locked": "ivr_card_locked",
}
PIN_PROMPTS = {
    "pin.wrong": "ivr_wrong_pin",
    "pin.mismatch": "ivr_pin_mismatch",
    "pin.format": "ivr_pin_rules",
    "pin.weak": "ivr_pin_rules",
    "account.pin_locked": "ivr_locked",
}


@dataclass(frozen=True)
class IvrPolicy:
    max_pin_tries: int = 3
    key_timeout_s: float = 10.0
    max_timeouts: int = 3
    max_digits: int = 24


def summary_prompts(summary: ops.AccountSummary,
                    say_amount: Callable[[int], list[str]]) -> list[str]:
    """What key 2 says: the balance of a prepaid account; a carrier-billed one's spending this
    month (and what its monthly limit leaves), never a balance."""
    if not summary.carrier_billed:
        return ["ivr_balance_is", *say_amount(summary.available_fen)]
    out = ["ivr_spent_month_is", *say_amount(summary.spent_month_fen)]
    if summary.month_left_fen is not None:
        out += ["ivr_month_left_is", *say_amount(summary.month_left_fen)]
    return out


def _digits_of(n: int) -> list[str]:
    return [f"d{c}" for c in str(n)]


def _amount_in_digits(fen: int) -> list[str]:
    """Fallback reading of an amount: yuan digit by digit, then fen (no number words)."""
    sign = ["minus"] if fen < 0 else []
    yuan, rest = divmod(abs(fen), 100)
    return [*sign, *_digits_of(yuan), "yuan", *(_digits_of(rest) + ["fen"] if rest else [])]


@dataclass(eq=False)
class IvrCall:
    ivr: "ServiceIvr"
    leg: CallLeg
    account: str | None
    state: str = "pin"  # pin | menu | card | card_pin | old | new | confirm | ending | done
    buffer: str = ""
    entries: dict[str, str] = field(default_factory=dict)
    pin_failures: int = 0
    timeouts: int = 0
    heard: list[str] = field(default_factory=list)  # every prompt played, for the operator log
    _timer: Any = None
    _busy: bool = False  # a DB step is running: keys wait
    carrier_billed: bool = False  # known once the PIN was right

    # -- plumbing -------------------------------------------------------------------------------
    @property
    def channo(self) -> int:
        assert self.leg.channo is not None
        return self.leg.channo

    def say(self, sounds: list[str], then: Callable[[], None] | None = None) -> None:
        self.heard.extend(sounds)
        if self.leg.active:
            self.ivr.media.play_sequence(self.channo, sounds, then)

    def start(self) -> None:
        self.ivr.media.digit_listeners[self.channo] = self.digit
        self.leg.listener = self.leg_event
        if self.account is None:
            self.finish(["unknown_account"])
            return
        self.say(["ivr_welcome", "ivr_enter_pin"])
        self.arm()

    def leg_event(self, leg: CallLeg, ev: LegEvent) -> None:
        if ev.kind in ("hangup", "failed", "cleared"):
            self.disarm()
            if self.state != "done":
                self.state = "done"
                self.ivr.media.release(self.channo)
                self.ivr.ended(self)

    def arm(self) -> None:
        self.disarm()
        if self.state not in ("ending", "done"):
            self._timer = self.ivr.reactor.callLater(self.ivr.policy.key_timeout_s, self.timeout)

    def disarm(self) -> None:
        cancel_pending(self._timer)
        self._timer = None

    def timeout(self) -> None:
        self._timer = None
        self.timeouts += 1
        if self.timeouts >= self.ivr.policy.max_timeouts:
            self.finish(["ivr_timeout", "goodbye"])
            return
        self.buffer = ""
        self.say(["ivr_timeout", *self.prompt_for_state()])
        self.arm()

    def finish(self, sounds: list[str]) -> None:
        """Say goodbye, then hang up."""
        self.disarm()
        self.state = "ending"
        self.say(sounds, then=lambda: self.leg.hangup(Cause.NORMAL_CLEARING))

    def prompt_for_state(self) -> list[str]:
        menu = "ivr_menu_carrier" if self.carrier_billed else "ivr_menu"
        return {"pin": ["ivr_enter_pin"], "menu": [menu], "card": ["ivr_enter_card"],
                "card_pin": ["ivr_enter_card_pin"], "old": ["ivr_enter_old_pin"],
                "new": ["ivr_enter_new_pin"], "confirm": ["ivr_confirm_new_pin"]}.get(
            self.state, [])

    # -- keys -----------------------------------------------------------------------------------
    def digit(self, ev: DigitEvent) -> None:
        if not ev.start or self.state in ("ending", "done") or self._busy:
            return
        self.timeouts = 0
        self.ivr.media.stop(self.channo)  # barge-in
        key = ev.digit
        if self.state == "menu":
            self.menu(key)
        elif key == "#":
            entry, self.buffer = self.buffer, ""
            self.entered(entry)
        elif key == "*":
            self.buffer = ""  # start the entry over
            self.say(self.prompt_for_state())
        elif key.isdigit():
            if len(self.buffer) < self.ivr.policy.max_digits:
                self.buffer += key
        self.arm()

    def menu(self, key: str) -> None:
        if key == "1" and self.carrier_billed:
            self.to_menu(["ivr_carrier_billed"])
        elif key == "1":
            self.state = "card"
            self.say(["ivr_enter_card"])
        elif key == "2":
            self.run(ops.account_summary, self.account, self.ivr.now(),
                     then=lambda s: self.to_menu(summary_prompts(s, self.ivr.say_amount)))
        elif key == "3":
            self.state = "old"
            self.say(["ivr_enter_old_pin"])
        else:
            self.say(["ivr_invalid_choice", *self.prompt_for_state()])

    def to_menu(self, sounds: list[str]) -> None:
        self.state = "menu"
        self.say([*sounds, *self.prompt_for_state()])
        self.arm()

    def authenticated(self) -> None:
        """The PIN was right: learn the billing mode, which decides the menu."""
        def known(summary: ops.AccountSummary) -> None:
            self.carrier_billed = summary.carrier_billed
            self.to_menu([])
        self.run(ops.account_summary, self.account, self.ivr.now(), then=known)

    def entered(self, entry: str) -> None:
        if self.state == "pin":
            self.run(ops.authenticate, self.account, entry, source=self.source,
                     then=lambda _: self.authenticated(), refused=self.pin_refused)
        elif self.state == "card":
            self.entries["card"] = entry
            self.state = "card_pin"
            self.say(["ivr_enter_card_pin"])
        elif self.state == "card_pin":
            self.run(ops.recharge_by_card, self.account, self.entries.pop("card", ""), entry,
                     source=self.source, then=lambda b: self.to_menu(
                         ["ivr_recharge_ok", *self.ivr.say_amount(b.balance_fen)]),
                     refused=lambda e: self.to_menu([CARD_PROMPTS.get(e.key, "failed")]))
        elif self.state == "old":
            self.entries["old"] = entry
            self.state = "new"
            self.say(["ivr_enter_new_pin"])
        elif self.state == "new":
            self.entries["new"] = entry
            self.state = "confirm"
            self.say(["ivr_confirm_new_pin"])
        elif self.state == "confirm":
            old, new = self.entries.pop("old", ""), self.entries.pop("new", "")
            self.run(ops.change_password, self.account, old, new, entry, source=self.source,
                     then=lambda _: self.to_menu(["ivr_pin_changed"]),
                     refused=self.change_refused)

    def pin_refused(self, err: MoneyError) -> None:
        if err.key == "pin.wrong":
            self.pin_failures += 1
            if self.pin_failures >= self.ivr.policy.max_pin_tries:
                self.finish(["ivr_wrong_pin", "ivr_locked", "goodbye"])
                return
            self.say(["ivr_wrong_pin", "ivr_enter_pin"])
            self.arm()
            return
        prompt = {"account.pin_locked": "ivr_locked", "account.locked": "account_locked",
                  "account.unknown": "unknown_account"}.get(err.key, "failed")
        self.finish([prompt, "goodbye"])

    def change_refused(self, err: MoneyError) -> None:
        if err.key == "account.pin_locked":
            self.finish(["ivr_locked", "goodbye"])
            return
        self.to_menu([PIN_PROMPTS.get(err.key, "failed")])

    @property
    def source(self) -> str:
        """Who is trying secrets, for the money throttles: the calling number."""
        return f"ani:{self.account}" if self.account else "ani:withheld"

    def run(self, fn: Callable[..., Any], *args: Any, then: Callable[[Any], None],
            refused: Callable[[MoneyError], None] | None = None, **kwargs: Any) -> None:
        """One money operation in the DB pool; keys are ignored until it answers."""
        self._busy = True
        self.disarm()
        d = self.ivr.runner.call_plain(fn, *args, **kwargs)

        def ok(result: Any) -> None:
            self._busy = False
            if self.state != "done":
                then(result)

        def bad(f: Any) -> None:
            self._busy = False
            if self.state == "done":
                return
            if f.check(MoneyError) and refused is not None:
                refused(f.value)
                return
            log.error("IVR %s: %s failed: %s", self.account, getattr(fn, "__name__", fn),
                      f.getErrorMessage())
            self.finish(["failed", "goodbye"])

        d.addCallbacks(ok, bad)


class ServiceIvr:
    """Answers calls to the service number (install with ``IncomingRouter.add``)."""

    def __init__(self, reactor: Any, media: MediaService, runner: Any, *,
                 policy: IvrPolicy = IvrPolicy(),
                 say_amount: Callable[[int], list[str]] | None = None,
                 payer_of: Callable[[str], str | None] | None = None,
                 now: Callable[[], datetime] | None = None) -> None:
        """``now``: the UTC time of the reactor's clock (virtual clocks); default the wall
        clock — spending "this month" is counted up to it."""
        self.reactor = reactor
        self.now = now or (lambda: datetime.now(UTC))
        self.media = media
        self.runner = runner
        self.policy = policy
        self.say_amount = say_amount or _amount_in_digits
        self.payer_of = payer_of or _default_payer
        self.calls: deque[IvrCall] = deque(maxlen=1000)  # recent calls, for the operator

    def offer(self, leg: CallLeg) -> None:
        account = (self.payer_of(leg.ani) if leg.presentation is Presentation.ALLOWED
                   and leg.ani else None)
        leg.answer()
        call = IvrCall(self, leg, account)
        self.calls.append(call)
        log.info("service call from %r (account %s)", leg.ani, account)
        if leg.answered:
            maybeDeferred(call.start)
        else:  # MFC/R2 answers a compelled cycle later: greet once the answer is on the line
            leg.listener = lambda _, ev: (ev.kind == "answered" and maybeDeferred(call.start)
                                          and None)

    def ended(self, call: IvrCall) -> None:
        log.info("service call from %s ended after %s", call.account, call.heard[-3:])


def _default_payer(ani: str) -> str | None:
    from confcall.rating.numbers import normalize
    try:
        return normalize(ani)
    except MoneyError:
        return None
