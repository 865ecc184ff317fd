"""Charged legs through the real services, as the call control's transactions write them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from confcall.billing import handoff
from confcall.rating import ops
from confcall.rating.cdr import LegRecord

T0 = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # 12:00 in China


def account(store, number: str, fen: int = 100_000, mode: str = "prepaid", **limits) -> str:
    e164 = ops.create_account(store, number, "482913", now=T0)
    if fen:
        ops.adjust(store, e164, fen, f"fund-{e164}", "test funding", now=T0)
    if mode != "prepaid" or limits:
        ops.set_billing(store, e164, mode, **limits)
    return e164


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def answered_leg(store, payer: str, conf: str, ref: str, dialled: str, answered: datetime,
                 *, role: str = "participant", calling: str = "95000") -> None:
    """Credit held, dialled, answered: the billing record opens with its Start."""
    ops.authorize_leg(store, payer, conf, ref, dialled, now=answered - timedelta(seconds=3))
    store.run(handoff.leg_answered, ref, conference_ref=conf, role=role, calling=calling,
              called=dialled, trunk="span1", channo=3, seized_at=answered - timedelta(seconds=3),
              answered_at=answered)


def end_leg(store, payer: str, conf: str, ref: str, dialled: str, answered: datetime,
            ended: datetime, *, cause: int = 16, log_first: bool = True):
    """The leg ends: the call log's half and the rating's half, in either order."""
    record = LegRecord(ref, dialled, answered - timedelta(seconds=3), ended, answered)

    def log():
        store.run(handoff.leg_logged, ref, ended, cause)

    def rate():
        return ops.settle_leg(store, payer, conf, record, now=ended)
    if log_first:
        log()
        return rate()
    bill = rate()
    log()
    return bill


def call(store, payer: str, conf: str, ref: str, dialled: str, answered: datetime,
         seconds: float, *, interims: float = 0, cause: int = 16, log_first: bool = True,
         role: str = "participant"):
    answered_leg(store, payer, conf, ref, dialled, answered, role=role)
    if interims:
        t = interims
        while t < seconds:
            store.run(handoff.leg_interim, ref, answered + timedelta(seconds=t))
            t += interims
    return end_leg(store, payer, conf, ref, dialled, answered,
                   answered + timedelta(seconds=seconds), cause=cause, log_first=log_first)
