"""A subscriber's bookings a page at a time, read through prepared Core statements.

Why pages: the list grows with every booking an account ever made, and the site's listing
used to load up to 200 ORM objects (with their participants and attempts) per request: 19 ms
of the DB thread per listing on a busy account, under SQLite's write lock (every transaction
there is ``BEGIN IMMEDIATE``), so bookings queued behind it.  A page is ``limit`` rows
(``PAGE_DEFAULT``, at most ``PAGE_MAX``) and a cursor to the next one.

Order (the same as ``service.list_bookings``): live bookings (booked, claimed, dialing, in
progress) soonest first, then the past ones latest first.  A cursor names the section and the
last row's ``(start_at, id)``; the next page is every row strictly after it in that order (a
keyset, not an offset: a page costs the same however deep, and a booking made meanwhile does
not shift the rows).  A booking whose state moves from live to past while someone pages may
be seen twice or not at all; each page is exact as of its own read.

The statements are built once at import with bind parameters and run through
``confcall.store.prepared`` (SQLite's cursor, no ORM objects); the ``IN`` lists of a page's ids
are one statement per list length (at most ``PAGE_MAX`` of each), never an expanding bind.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.orm import Session

from confcall.store.models import Account, Booking, BookingAttempt, BookingParticipant, table_of
from confcall.store.prepared import Prepared

from .errors import BookingError
from .states import ACTIVE, AttemptResult, BookingKind, BookingState
from .views import AttemptView, BookingView

__all__ = ["PAGE_DEFAULT", "PAGE_MAX", "BookingPage", "Cursor", "list_page"]

PAGE_DEFAULT = 20
PAGE_MAX = 100

_B, _A = table_of(Booking), table_of(Account)
_P, _T = table_of(BookingParticipant), table_of(BookingAttempt)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"([lp])([0-9]{1,17})_([0-9]{1,12})")


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after ``(start_at, id)`` in the live or the past section.
    Its text (``l<µs since 1970>_<id>``) is opaque to clients; it names no one else's data
    (every read is limited to the session's own account)."""
    live: bool
    start_at: datetime
    id: int

    def token(self) -> str:
        us = (self.start_at - _EPOCH) // timedelta(microseconds=1)
        return f"{'l' if self.live else 'p'}{us}_{self.id}"

    @classmethod
    def parse(cls, text: object) -> Cursor:
        """The cursor a page answered, or ``BookingError("field.pattern", "cursor")``."""
        m = _CURSOR.fullmatch(text) if isinstance(text, str) else None
        if m is None:
            raise BookingError("field.pattern", "cursor", value=repr(text)[:40])
        try:
            start = _EPOCH + timedelta(microseconds=int(m.group(2)))
        except OverflowError:
            raise BookingError("field.pattern", "cursor", value=m.group(0)[:40]) from None
        return cls(m.group(1) == "l", start, int(m.group(3)))


@dataclass(frozen=True)
class BookingPage:
    bookings: tuple[BookingView, ...]
    next: Cursor | None  # None: this was the last page


# -- statements, built once --------------------------------------------------------------------
_COLS = (_B.c.id, _B.c.reference, _B.c.kind, _B.c.initiator, _B.c.start_at, _B.c.retries,
         _B.c.retry_interval_s, _B.c.music, _B.c.expected_s, _B.c.expected_fen, _B.c.state,
         _B.c.outcome, _B.c.created_at, _B.c.started_at, _B.c.ended_at, _B.c.lease_box,
         _B.c.lease_until, _B.c.conference_ref)
_LIVE = [s.value for s in ACTIVE]
_ACCOUNT = Prepared(select(_A.c.id).where(_A.c.number == bindparam("number")))


def _section(live: bool, after: bool) -> Prepared:
    # constants as bound values, not an expanding IN: the prepared plan keeps them
    states: list[Any] = [bindparam(f"s_{v}", v) for v in _LIVE]
    where = [_B.c.account_id == bindparam("account_id"),
             _B.c.kind == bindparam("kind", BookingKind.CONFERENCE.value),
             _B.c.state.in_(states) if live else _B.c.state.not_in(states)]
    s: Any = bindparam("after_start", type_=_B.c.start_at.type)
    i: Any = bindparam("after_id")
    if after:
        where.append(or_(_B.c.start_at > s, and_(_B.c.start_at == s, _B.c.id > i)) if live
                     else or_(_B.c.start_at < s, and_(_B.c.start_at == s, _B.c.id < i)))
    order = (_B.c.start_at, _B.c.id) if live else (_B.c.start_at.desc(), _B.c.id.desc())
    return Prepared(select(*_COLS).where(*where).order_by(*order).limit(bindparam("n")))


_PAGES = {(live, after): _section(live, after) for live in (True, False)
          for after in (False, True)}
_IN_CACHE: dict[tuple[str, int], Prepared] = {}


def _of_ids(what: str, n: int) -> Prepared:
    """The participants or attempts of ``n`` bookings (``b0``…): one statement per length."""
    p = _IN_CACHE.get((what, n))
    if p is None:
        ids: list[Any] = [bindparam(f"b{k}") for k in range(n)]
        if what == "participants":
            stmt = select(_P.c.booking_id, _P.c.number).where(_P.c.booking_id.in_(ids)) \
                .order_by(_P.c.booking_id, _P.c.position)
        else:
            stmt = select(_T.c.booking_id, _T.c.position, _T.c.number, _T.c.attempt_no,
                          _T.c.started_at, _T.c.answered_at, _T.c.ended_at, _T.c.result,
                          _T.c.cause, _T.c.box).where(_T.c.booking_id.in_(ids)) \
                .order_by(_T.c.started_at, _T.c.id)
        p = _IN_CACHE[(what, n)] = Prepared(stmt)
    return p


# -- reading -----------------------------------------------------------------------------------
def list_page(session: Session, account_number: str, *, limit: int = PAGE_DEFAULT,
              cursor: Cursor | None = None) -> BookingPage:
    """One page of the account's booked conferences, with their participants and attempts
    (four to six statements whatever the page size)."""
    if type(limit) is not int or not 1 <= limit <= PAGE_MAX:
        raise BookingError("field.range", "limit", min=1, max=PAGE_MAX, value=limit)
    conn = session.connection()
    found = _ACCOUNT.first(conn, {"number": account_number})
    if found is None:
        raise BookingError("account.unknown", "account_number", number=account_number)
    account_id = found[0]
    rows: list[tuple[Any, ...]] = []
    live = cursor.live if cursor is not None else True
    after = cursor
    while True:
        params: dict[str, Any] = {"account_id": account_id, "n": limit + 1 - len(rows)}
        if after is not None:
            params["after_start"], params["after_id"] = after.start_at, after.id
        got = _PAGES[(live, after is not None)].all(conn, params)
        rows += [(live, r) for r in got]
        if len(rows) > limit or not live:
            break
        live, after = False, None  # the live section is done: the past one follows
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more:
        last_live, last = rows[-1]
        nxt = Cursor(last_live, last[4], last[0])
    return BookingPage(tuple(_views(conn, account_number, [r for _, r in rows])), nxt)


def _views(conn: Any, account_number: str, rows: list[tuple[Any, ...]]) -> list[BookingView]:
    if not rows:
        return []
    ids = {f"b{k}": r[0] for k, r in enumerate(rows)}
    parts: dict[int, list[str]] = {r[0]: [] for r in rows}
    for booking_id, number in _of_ids("participants", len(rows)).all(conn, ids):
        parts[booking_id].append(number)
    tries: dict[int, list[AttemptView]] = {r[0]: [] for r in rows}
    for a in _of_ids("attempts", len(rows)).all(conn, ids):
        tries[a[0]].append(AttemptView(a[1], a[2], a[3], a[4], a[5], a[6],
                                       AttemptResult(a[7]) if a[7] else None, a[8], a[9]))
    return [BookingView(r[0], r[1], BookingKind(r[2]), account_number, r[3], tuple(parts[r[0]]),
                        r[4], r[5], r[6], bool(r[7]), r[8], r[9], BookingState(r[10]), r[11],
                        r[12], r[13], r[14], r[15], r[16], r[17], tuple(tries[r[0]]))
            for r in rows]
