"""What the service number says and asks, as a pure state machine (keys, timeouts and the
answers of the money services in; prompts and money requests out) — like ``keypad.py``.

The caller acts on their **own number** (identified by the calling number, then its password:
today's flow, the default) or on **another number** they key (``number #``, read back digit by
digit, ``1`` to confirm, ``2`` to enter it again). ``*`` on its own at the password prompt
or in the own number's menu chooses another number; a withheld calling number, or one without
an account, goes there directly. For another number:

- ``1`` recharge: the card alone (serial ``#``, PIN ``#``) — a recharge adds credit and cannot
  hurt its target. The number and its new balance are read back. A number with no account is
  refused and the card is left untouched (the money service refuses before using it).
- ``2`` balance and ``3`` password change need **that number's** password. A wrong password and
  an unknown number get the same answer (``ivr_target_wrong_pin``): the IVR never tells whether
  a number has an account without its password or a valid card.
- ``*`` another number.

Lockouts are the money services' (they count per calling number and per target: the adapter
passes the calling number as ``source``); this machine only ends a call after
``max_pin_tries`` wrong passwords in it, and after ``max_timeouts`` silences.

One money request is outstanding at a time; keys and timeouts are ignored until its answer is
fed back with ``answered(result)`` / ``refused(error_key)`` / ``failed()``.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable

from confcall.rating.errors import MoneyError
from confcall.rating.numbers import normalize

__all__ = ["Step", "IvrFlow", "FlowPolicy", "Say", "LookUp", "CheckPin", "Summarize", "Recharge",
           "ChangePin", "Request", "Action", "spoken_number", "summary_prompts",
           "amount_in_digits", "CARD_PROMPTS", "PIN_PROMPTS"]


class Step(enum.Enum):
    LOOKUP = "lookup"  # learning whether the calling number has an account
    PIN = "pin"  # the caller's own password
    MENU = "menu"  # own number: 1 recharge, 2 balance, 3 password
    TARGET = "target"  # keying another number
    READBACK = "readback"  # the number was read back: 1 confirm, 2 enter it again
    TARGET_MENU = "target_menu"  # another number: 1 recharge, 2 balance, 3 password, * change
    CARD = "card"  # card serial
    CARD_PIN = "card_pin"  # card PIN
    TARGET_PIN = "target_pin"  # the other number's password, for its balance
    OLD = "old"  # the current password (own, or the other number's)
    NEW = "new"
    CONFIRM = "confirm"
    ENDING = "ending"  # saying goodbye; the adapter hangs up once it is said


# -- actions -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Say:
    """Play these prompt keys (stopping whatever was playing); hang up after if ``hangup``."""
    prompts: tuple[str, ...]
    hangup: bool = False


@dataclass(frozen=True)
class LookUp:
    """The calling number's account summary (``ops.account_summary``)."""
    number: str


@dataclass(frozen=True)
class CheckPin:
    """``ops.authenticate`` → the E.164 number."""
    number: str
    pin: str


@dataclass(frozen=True)
class Summarize:
    """The account summary; with ``pin``, only after that password was checked."""
    number: str
    pin: str | None = None


@dataclass(frozen=True)
class Recharge:
    """``ops.recharge_by_card`` → ``ops.Balance``."""
    number: str
    serial: str
    pin: str


@dataclass(frozen=True)
class ChangePin:
    number: str
    old: str
    new: str
    confirm: str


Request = LookUp | CheckPin | Summarize | Recharge | ChangePin
Action = Say | Request

CARD_PROMPTS = {
    "card.unknown": "ivr_card_invalid",
    "card.malformed": "ivr_card_invalid",
    "card.wrong_pin": "ivr_wrong_pin",
    "card.state": "ivr_card_used",
    "card.expired": "ivr_card_expired",
    "card.locked": "ivr_card_locked",
    "card.account_locked": "ivr_card_locked",
    "account.locked": "account_locked",
}
PIN_PROMPTS = {
    "pin.wrong": "ivr_wrong_pin",
    "pin.mismatch": "ivr_pin_mismatch",
    "pin.format": "ivr_pin_rules",
    "pin.weak": "ivr_pin_rules",
    "account.pin_locked": "ivr_locked",
}
# refusals that mean "wrong password" for another number: an unknown number is answered the
# same way, so that the IVR is no oracle of which numbers have accounts
_TARGET_WRONG = frozenset({"pin.wrong", "account.unknown", "number.malformed"})


@dataclass(frozen=True)
class FlowPolicy:
    max_pin_tries: int = 3  # wrong passwords (own or another number's) that end the call
    max_timeouts: int = 3
    max_digits: int = 24
    key_timeout_s: float = 10.0


def _digits(text: str) -> list[str]:
    return [f"d{c}" for c in text]


def amount_in_digits(fen: int) -> list[str]:
    """Fallback reading of an amount: yuan digit by digit, then fen (no number words)."""
    sign = ["minus"] if fen < 0 else []
    yuan, rest = divmod(abs(fen), 100)
    return [*sign, *_digits(str(yuan)), "yuan", *(_digits(str(rest)) + ["fen"] if rest else [])]


def spoken_number(e164: str) -> str:
    """The digits to read back for an E.164 number, the way a Chinese caller dials it: mobiles
    and 400/800 numbers as they are, fixed lines with the trunk ``0``, abroad with ``00``."""
    if e164.startswith("+86"):
        national = e164[3:]
        if national.startswith("1") and len(national) == 11 or national[:3] in ("400", "800"):
            return national
        return "0" + national
    return "00" + e164.lstrip("+")


def summary_prompts(summary: Any, say_amount: Callable[[int], list[str]],
                    lead: str = "ivr_balance_is") -> list[str]:
    """What a balance request says: the balance of a prepaid account (after ``lead``); a
    carrier-billed one's spending this month (and what its monthly limit leaves), never a
    balance.  ``summary`` is an ``ops.AccountSummary``."""
    if not summary.carrier_billed:
        return [lead, *say_amount(summary.available_fen)]
    out = ["ivr_spent_month_is", *say_amount(summary.spent_month_fen)]
    if summary.month_left_fen is not None:
        out += ["ivr_month_left_is", *say_amount(summary.month_left_fen)]
    return out


_ENTRY_STEPS = frozenset({Step.PIN, Step.TARGET, Step.CARD, Step.CARD_PIN, Step.TARGET_PIN,
                          Step.OLD, Step.NEW, Step.CONFIRM})


class IvrFlow:
    """One service call.  ``start(own)`` → actions; then ``feed(key)`` / ``timeout()`` and the
    answers of the requests it returned.  ``timeout_s`` says how long the current step waits
    for a key (None: not waiting — a request is outstanding, or the call is ending)."""

    def __init__(self, *, policy: FlowPolicy = FlowPolicy(),
                 say_amount: Callable[[int], list[str]] = amount_in_digits) -> None:
        self.policy = policy
        self.say_amount = say_amount
        self.step = Step.LOOKUP
        self.own: str | None = None  # the caller's own account (E.164), once known
        self.target: str | None = None  # another number the caller keyed (E.164)
        self.other = False  # acting on ``target`` rather than ``own``
        self.authenticated = False  # the own password was right
        self.carrier_billed = False  # the own account's billing mode
        self.buffer = ""
        self.entries: dict[str, str] = {}
        self.pin_failures = 0
        self.timeouts = 0
        self.pending: Request | None = None

    # -- queries --------------------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        """Keys count now (and interrupt the prompt being played)."""
        return self.pending is None and self.step not in (Step.LOOKUP, Step.ENDING)

    @property
    def timeout_s(self) -> float | None:
        return self.policy.key_timeout_s if self.listening else None

    @property
    def number(self) -> str | None:
        """The number the menu acts on."""
        return self.target if self.other else self.own

    # -- inputs ---------------------------------------------------------------------------------
    def start(self, own: str | None) -> list[Action]:
        """``own``: the calling number as E.164, or None (withheld, or not a number)."""
        if own is None:
            return self._to_target(["ivr_welcome"])
        return self._request(LookUp(own))

    def feed(self, key: str) -> list[Action]:
        if len(key) != 1 or key not in "0123456789*#ABCD":
            raise ValueError(f"not a keypad key: {key!r}")
        if not self.listening or key in "ABCD":
            return []
        self.timeouts = 0
        if self.step is Step.MENU:
            return self._menu(key)
        if self.step is Step.TARGET_MENU:
            return self._target_menu(key)
        if self.step is Step.READBACK:
            return self._readback(key)
        if key == "#":
            entry, self.buffer = self.buffer, ""
            return self._entered(entry)
        if key == "*":
            if self.step is Step.PIN and not self.buffer:
                return self._to_target([])
            self.buffer = ""  # start the entry over
            return [Say(tuple(self._prompt()))]
        if len(self.buffer) < self.policy.max_digits:
            self.buffer += key
        return []

    def timeout(self) -> list[Action]:
        if not self.listening:
            return []
        self.timeouts += 1
        self.buffer = ""
        if self.timeouts >= self.policy.max_timeouts:
            return self._end(["ivr_timeout"])
        return [Say(("ivr_timeout", *self._prompt()))]

    def answered(self, result: Any) -> list[Action]:
        """The outstanding request succeeded with ``result``."""
        req, self.pending = self._take()
        if isinstance(req, LookUp):
            self.own = req.number
            self.carrier_billed = bool(result.carrier_billed)
            self.step = Step.PIN
            return [Say(("ivr_welcome", "ivr_enter_pin"))]
        if isinstance(req, CheckPin):
            self.authenticated = True
            return self._to_menu([])
        if isinstance(req, Summarize):
            if self.other:
                return self._to_menu(summary_prompts(result, self.say_amount,
                                                     "ivr_its_balance_is"))
            return self._to_menu(summary_prompts(result, self.say_amount))
        if isinstance(req, Recharge):
            amount = self.say_amount(result.balance_fen)
            if self.other:
                return self._to_menu(["ivr_recharged_number", *_digits(spoken_number(req.number)),
                                      "ivr_its_balance_is", *amount])
            return self._to_menu(["ivr_recharge_ok", *amount])
        return self._to_menu(["ivr_pin_changed"])  # ChangePin

    def refused(self, key: str) -> list[Action]:
        """The outstanding request was refused by the money services (``MoneyError.key``)."""
        req, self.pending = self._take()
        if isinstance(req, LookUp):  # no account for the calling number: another number
            return self._to_target(["ivr_welcome"])
        if isinstance(req, CheckPin):
            if key == "pin.wrong":
                return self._wrong_pin("ivr_wrong_pin", ["ivr_enter_pin"], ["ivr_locked"])
            return self._end([{"account.pin_locked": "ivr_locked",
                               "account.locked": "account_locked",
                               "account.unknown": "unknown_account"}.get(key, "failed")])
        if key == "account.pin_locked":
            return self._end(["ivr_locked"])
        if isinstance(req, Recharge):
            if key == "account.unknown" and self.other:
                return self._to_target(["ivr_target_no_account"])
            return self._to_menu([CARD_PROMPTS.get(key, "failed")])
        if self.other and key in _TARGET_WRONG:  # Summarize with a PIN, or ChangePin
            return self._wrong_pin("ivr_target_wrong_pin", [self._menu_prompt()], [])
        if key == "account.locked":
            return self._to_menu(["account_locked"])
        return self._to_menu([PIN_PROMPTS.get(key, "failed")])

    def failed(self) -> list[Action]:
        """The outstanding request failed for another reason (logged by the adapter)."""
        self.pending = None
        return self._end(["failed"])

    # -- steps ----------------------------------------------------------------------------------
    def _take(self) -> tuple[Request, None]:
        if self.pending is None:
            raise RuntimeError("an answer with no request outstanding")
        return self.pending, None

    def _request(self, req: Request) -> list[Action]:
        self.pending = req
        return [req]

    def _end(self, prompts: list[str]) -> list[Action]:
        self.step = Step.ENDING
        self.buffer = ""
        return [Say((*prompts, "goodbye"), hangup=True)]

    def _wrong_pin(self, prompt: str, again: list[str], last: list[str]) -> list[Action]:
        self.pin_failures += 1
        if self.pin_failures >= self.policy.max_pin_tries:
            return self._end([prompt, *last])
        if self.step is Step.PIN:
            return [Say((prompt, *again))]
        return self._to_menu([prompt])

    def _menu_prompt(self) -> str:
        if self.other:
            return "ivr_target_menu"
        return "ivr_menu_carrier" if self.carrier_billed else "ivr_menu"

    def _to_menu(self, prompts: list[str]) -> list[Action]:
        self.step = Step.TARGET_MENU if self.other else Step.MENU
        self.entries.clear()
        return [Say((*prompts, self._menu_prompt()))]

    def _to_target(self, prompts: list[str]) -> list[Action]:
        self.step, self.other, self.target = Step.TARGET, True, None
        self.entries.clear()
        return [Say((*prompts, "ivr_enter_target"))]

    def _ask(self, step: Step, prompt: str) -> list[Action]:
        self.step = step
        return [Say((prompt,))]

    def _readback_prompts(self) -> list[str]:
        assert self.target is not None
        return ["ivr_target_is", *_digits(spoken_number(self.target)), "ivr_confirm_target"]

    def _prompt(self) -> list[str]:
        """What the current step asks (after a timeout or a restarted entry)."""
        if self.step is Step.READBACK:
            return self._readback_prompts()
        if self.step in (Step.MENU, Step.TARGET_MENU):
            return [self._menu_prompt()]
        return [{Step.PIN: "ivr_enter_pin", Step.TARGET: "ivr_enter_target",
                 Step.CARD: "ivr_enter_card", Step.CARD_PIN: "ivr_enter_card_pin",
                 Step.TARGET_PIN: "ivr_enter_target_pin",
                 Step.OLD: "ivr_enter_target_pin" if self.other else "ivr_enter_old_pin",
                 Step.NEW: "ivr_enter_new_pin",
                 Step.CONFIRM: "ivr_confirm_new_pin"}[self.step]]

    def _menu(self, key: str) -> list[Action]:
        assert self.own is not None
        if key == "1" and self.carrier_billed:
            return self._to_menu(["ivr_carrier_billed"])
        if key == "1":
            return self._ask(Step.CARD, "ivr_enter_card")
        if key == "2":
            return self._request(Summarize(self.own))
        if key == "3":
            return self._ask(Step.OLD, "ivr_enter_old_pin")
        if key == "*":
            return self._to_target([])
        return [Say(("ivr_invalid_choice", self._menu_prompt()))]

    def _target_menu(self, key: str) -> list[Action]:
        if key == "1":
            return self._ask(Step.CARD, "ivr_enter_card")
        if key == "2":
            return self._ask(Step.TARGET_PIN, "ivr_enter_target_pin")
        if key == "3":
            return self._ask(Step.OLD, "ivr_enter_target_pin")
        if key == "*":
            return self._to_target([])
        return [Say(("ivr_invalid_choice", self._menu_prompt()))]

    def _readback(self, key: str) -> list[Action]:
        if key == "1":
            return self._to_menu([])
        if key == "2":
            return self._to_target([])
        return [Say(("ivr_invalid_choice", *self._readback_prompts()))]

    def _entered(self, entry: str) -> list[Action]:
        step = self.step
        number = self.number
        if step is Step.PIN:
            assert self.own is not None
            return self._request(CheckPin(self.own, entry))
        if step is Step.TARGET:
            try:
                e164 = normalize(entry)
            except MoneyError:
                e164 = ""
            if not e164.startswith("+"):  # malformed, or a short code (110...)
                return [Say(("invalid_number", "ivr_enter_target"))]
            self.target, self.step = e164, Step.READBACK
            return [Say(tuple(self._readback_prompts()))]
        assert number is not None
        if step is Step.CARD:
            self.entries["card"] = entry
            return self._ask(Step.CARD_PIN, "ivr_enter_card_pin")
        if step is Step.CARD_PIN:
            return self._request(Recharge(number, self.entries.pop("card", ""), entry))
        if step is Step.TARGET_PIN:
            return self._request(Summarize(number, entry))
        if step is Step.OLD:
            self.entries["old"] = entry
            return self._ask(Step.NEW, "ivr_enter_new_pin")
        if step is Step.NEW:
            self.entries["new"] = entry
            return self._ask(Step.CONFIRM, "ivr_confirm_new_pin")
        old, new = self.entries.pop("old", ""), self.entries.pop("new", "")
        return self._request(ChangePin(number, old, new, entry))
