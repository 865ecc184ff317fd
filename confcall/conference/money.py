"""The conference's money port over ``confcall.rating``: credit per leg, rating at the end.

Why a port: call control thinks in reactor seconds and prompts; rating thinks in UTC datetimes
and ``MoneyError`` keys. This class translates both ways — a refused leg becomes a
``Refusal`` carrying the prompt the initiator hears.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

from twisted.internet.defer import Deferred, succeed

from confcall.rating import MoneyError, ops
from confcall.rating.leg_credit import LegCredit
from confcall.store.writes import OrderedWrites

from .ports import Refusal

log = logging.getLogger("confcall.money")

__all__ = ["RatingMoney", "AccessScreen", "PROMPT_FOR_ERROR"]

PROMPT_FOR_ERROR = {
    "number.blocked": "blocked_number",
    "number.malformed": "invalid_number",
    "funds.insufficient": "low_balance",
    "limit.reached": "limit_reached",
    "account.locked": "account_locked",
    "account.unknown": "unknown_account",
    "rate.no_rate": "blocked_number",
}


class _Leg:
    """A ``LegCredit`` spoken to in reactor seconds.

    ``ended``/``failed`` run in the call's ordered queue (retried while the DB is away) and
    their Deferreds end in an errback that logs: a caller may drop them without losing a failure.
    """

    def __init__(self, credit: LegCredit, to_dt: Callable[[float | None], datetime | None]):
        self.credit = credit
        self.to_dt = to_dt

    def answered(self) -> None:
        self.credit.answered()

    def ended(self, started: float, answered: float | None, ended: float | None) -> Deferred[Any]:
        d = self.credit.ended(self.to_dt(started), self.to_dt(answered), self.to_dt(ended))
        return d.addErrback(_log_money_failure, "rating", self.credit.leg_ref)

    def failed(self) -> Deferred[Any]:
        d = self.credit.failed()
        return d.addErrback(_log_money_failure, "releasing the credit of", self.credit.leg_ref)


def _log_money_failure(failure: Any, what: str, leg_ref: str) -> None:
    log.error("%s leg %s failed: %s", what, leg_ref, failure.getErrorMessage())


class RatingMoney:
    def __init__(self, reactor: Any, runner: Any, *, epoch: datetime | None = None,
                 quota_s: int = 120, warnings_s: tuple[int, ...] = (60, 30),
                 writes: OrderedWrites | None = None) -> None:
        """``epoch``: the UTC time of reactor second 0 (virtual clocks); None = wall clock.
        ``writes``: the box's ordered write queues, shared with the call log (default: own)."""
        self.reactor = reactor
        self.runner = runner
        self.writes = writes or OrderedWrites(runner, reactor)
        self.epoch = epoch
        self.quota_s = quota_s
        self.warnings_s = warnings_s

    def to_dt(self, seconds: float | None) -> datetime | None:
        if seconds is None:
            return None
        if self.epoch is not None:
            return self.epoch + timedelta(seconds=seconds)
        return datetime.fromtimestamp(seconds, UTC)

    def now(self) -> datetime:
        dt = self.to_dt(float(self.reactor.seconds()))
        assert dt is not None
        return dt

    def authorize(self, payer: str, conference_ref: str, leg_ref: str, dialled: str, *,
                  on_warning: Callable[[str, int], None],
                  on_exhausted: Callable[[str], None]) -> Deferred[_Leg]:
        credit = LegCredit(self.reactor, self.runner, payer, conference_ref, leg_ref, dialled,
                           on_warning=on_warning, on_exhausted=on_exhausted,
                           quota_s=self.quota_s, warnings_s=self.warnings_s, now=self.now,
                           settle=lambda fn, *args: self.writes.call_plain(conference_ref, fn,
                                                                           *args),
                           extend=lambda fn, *args: self.writes.call_plain_once(
                               conference_ref, fn, *args))

        def refused(f: Any) -> Any:
            if f.check(MoneyError):
                err = f.value
                raise Refusal(PROMPT_FOR_ERROR.get(err.key, "failed"), str(err))
            return f

        d = credit.authorize()
        d.addCallbacks(lambda grant: _Leg(credit, self.to_dt), refused)
        return d

    def close_conference(self, payer: str, conference_ref: str, started: float,
                         ended: float) -> Deferred[Any]:
        """After every write already queued for the conference (its legs' rating)."""
        return self.writes.call_plain(conference_ref, ops.close_conference, payer,
                                      conference_ref, self.to_dt(started), self.to_dt(ended))

    def account_status(self, number: str) -> Deferred[ops.Balance]:
        return self.runner.call_plain(ops.balance, number)


class AccessScreen:
    """Who may ask for a callback: a known, active account with at least ``min_balance_fen``.

    Returns the prompt to refuse with (``unknown_account``, ``account_locked``, ``low_balance``)
    or None, as a Deferred (the account is read in the DB thread pool).
    """

    def __init__(self, runner: Any, *, min_balance_fen: int = 100) -> None:
        self.runner = runner
        self.min_balance_fen = min_balance_fen

    def payer_of(self, ani: str) -> str | None:
        from confcall.rating.numbers import normalize
        try:
            return normalize(ani)
        except MoneyError:
            return None

    def __call__(self, leg: Any) -> Deferred[str | None]:
        number = self.payer_of(leg.ani)
        if number is None:
            return succeed("unknown_account")
        d = self.runner.call_plain(ops.check_caller, number, self.min_balance_fen)

        def refused(f: Any) -> Any:
            if f.check(MoneyError):
                return PROMPT_FOR_ERROR.get(f.value.key, "unknown_account")
            return f

        d.addCallbacks(lambda _balance: None, refused)
        return d
