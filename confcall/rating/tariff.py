"""Tariffs: which rate row applies to a call and what the call costs.  Pure, no I/O.

Rules (explicit, so an auditor can recompute any charge by hand):

1. **Row choice.**  Rows are keyed by ``match``: a number class (``local``,
   ``mobile_long_distance``, ...) or an E.164 prefix (``+86138``, ``+1``).  The longest
   matching prefix row wins; without one, the row of the number's class.  Among rows of that
   key, the one whose weekday set (ISO 1=Mon..7=Sun) and local time window ``[start, end)``
   contain the instant applies; if several do, the narrowest (fewest weekday-minutes) wins.
   Local time = UTC + the plan's offset (China has no DST).
2. **Nothing for nothing.**  An unanswered leg, or one no longer than ``free_seconds``, costs 0
   (no connect fee either).
3. **Billed seconds.**  After the free seconds, the first unit is ``initial_s`` long, then units of
   ``subsequent_s``; a started unit is a whole unit (60/60: 61 s → 120 s; 30/6: 31 s → 36 s).
   The row in force at answer fixes the increments, connect fee, minimum charge and free
   seconds.
4. **Periods.**  Each billed unit is priced at the per-minute price of the row in force at the
   *start* of that unit, so a call crossing into the night period pays the night price from the
   first unit that starts in it.  (Should no row cover a later unit, the answer-time row's
   price continues.)
5. **Rounding.**  The unit prices are summed exactly in fen·seconds/60 and rounded once, per the
   plan: ``up`` (default: any part of a fen is a fen), ``half_up`` or ``down``.  Then the connect
   fee is added and the total raised to the minimum charge.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from .errors import MoneyError

__all__ = ["ROUNDINGS", "Charge", "Plan", "RateRow", "billed_seconds", "round_fen"]

ROUNDINGS = ("up", "half_up", "down")
MAX_CALL_S = 7 * 24 * 3600
MAX_FREE_S = 3600  # free seconds per call: beyond an hour it is a typo, not a tariff


@dataclass(frozen=True)
class RateRow:
    match: str
    price_per_min_fen: int
    initial_s: int = 60
    subsequent_s: int = 60
    connect_fee_fen: int = 0
    min_charge_fen: int = 0
    free_seconds: int = 0
    days: str = "1234567"
    start_minute: int = 0
    end_minute: int = 1440
    id: int | None = None

    def __post_init__(self) -> None:
        for name in ("price_per_min_fen", "connect_fee_fen", "min_charge_fen", "free_seconds",
                     "initial_s", "subsequent_s", "start_minute", "end_minute"):
            value = getattr(self, name)
            if type(value) is not int:
                raise MoneyError("rate.invalid", reason=f"{name} must be an integer, "
                                 f"got {value!r}")
            if value < 0:
                raise MoneyError("rate.invalid", reason=f"{name} must not be negative")
        if self.initial_s == 0 or self.subsequent_s == 0:
            raise MoneyError("rate.invalid", reason="billing increments must be at least 1 s")
        if self.initial_s > 3600 or self.subsequent_s > 3600:
            raise MoneyError("rate.invalid", reason="billing increments above 3600 s")
        if self.free_seconds > MAX_FREE_S:
            raise MoneyError("rate.invalid", reason=f"free_seconds must be at most "
                             f"{MAX_FREE_S} (a free hour), got {self.free_seconds}")
        if self.price_per_min_fen > 100_000 or self.connect_fee_fen > 100_000 or \
                self.min_charge_fen > 100_000:
            raise MoneyError("rate.invalid", reason="amount above 1000 yuan per minute/call")
        if not self.start_minute < self.end_minute <= 1440:
            raise MoneyError("rate.invalid", reason="time window must satisfy "
                             "00:00 <= start < end <= 24:00")
        if not self.days or any(d not in "1234567" for d in self.days) or \
                len(set(self.days)) != len(self.days):
            raise MoneyError("rate.invalid", reason=f"days must be ISO weekday digits 1-7, "
                             f"got {self.days!r}")
        if not self.match:
            raise MoneyError("rate.invalid", reason="empty match")

    @property
    def width(self) -> int:
        return len(self.days) * (self.end_minute - self.start_minute)

    def covers(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return str(local.isoweekday()) in self.days and \
            self.start_minute <= minute < self.end_minute


@dataclass(frozen=True)
class Charge:
    amount_fen: int
    billed_s: int
    row: RateRow | None
    parts: tuple[tuple[int, int], ...] = ()  # (seconds, price_per_min_fen) per period piece


def billed_seconds(duration_s: int, initial_s: int, subsequent_s: int,
                   free_seconds: int = 0) -> int:
    if duration_s <= free_seconds:
        return 0
    d = duration_s - free_seconds
    if d <= initial_s:
        return initial_s
    return initial_s + -(-(d - initial_s) // subsequent_s) * subsequent_s


def round_fen(fen_seconds: int, rounding: str) -> int:
    """fen·seconds → fen (divide by 60) with the plan's rounding."""
    if rounding == "up":
        return -(-fen_seconds // 60)
    if rounding == "half_up":
        return (fen_seconds + 30) // 60
    if rounding == "down":
        return fen_seconds // 60
    raise MoneyError("rate.invalid", reason=f"rounding must be one of {ROUNDINGS}")


@dataclass
class Plan:
    name: str
    rows: list[RateRow] = field(default_factory=list)
    utc_offset_minutes: int = 480
    rounding: str = "up"
    id: int | None = None

    def __post_init__(self) -> None:
        if self.rounding not in ROUNDINGS:
            raise MoneyError("rate.invalid", reason=f"rounding must be one of {ROUNDINGS}")
        self._by_key: dict[str, list[RateRow]] = {}
        for row in self.rows:
            self._by_key.setdefault(row.match, []).append(row)
        self._prefix_lengths = sorted({len(k) for k in self._by_key if k.startswith("+")},
                                      reverse=True)

    def key_for(self, e164: str, cls: str) -> str | None:
        for n in self._prefix_lengths:
            if len(e164) >= n and e164[:n] in self._by_key:
                return e164[:n]
        return cls if cls in self._by_key else None

    def local(self, at: datetime) -> datetime:
        from confcall.store.types import utc
        return utc(at) + timedelta(minutes=self.utc_offset_minutes)

    def row_at(self, key: str, local: datetime) -> RateRow | None:
        rows = [r for r in self._by_key.get(key, ()) if r.covers(local)]
        return min(rows, key=lambda r: r.width) if rows else None

    def _next_change(self, key: str, local: datetime) -> datetime:
        """The next local instant at which the row choice for ``key`` may change."""
        minute = local.hour * 60 + local.minute
        points = {1440}
        for r in self._by_key.get(key, ()):
            points.update((r.start_minute, r.end_minute))
        nxt = min(p for p in points if p > minute)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return midnight + timedelta(minutes=nxt)

    def charge(self, e164: str, cls: str, answered_at: datetime | None,
               duration_s: int) -> Charge:
        """What a leg to ``e164`` (class ``cls``) answered at ``answered_at`` costs."""
        if type(duration_s) is not int or duration_s < 0 or duration_s > MAX_CALL_S:
            raise MoneyError("cdr.invalid", reason=f"duration {duration_s!r} s is not a whole "
                             f"number of seconds between 0 and {MAX_CALL_S}")
        if answered_at is None or duration_s == 0:
            return Charge(0, 0, None)
        if cls == "blocked":
            raise MoneyError("number.blocked", number=e164, reason="blocked class")
        key = self.key_for(e164, cls)
        if key is None:
            if cls == "free":
                return Charge(0, 0, None)
            raise MoneyError("rate.no_rate", number=e164, cls=cls, plan=self.name)
        start = self.local(answered_at)
        row = self.row_at(key, start)
        if row is None:
            raise MoneyError("rate.no_rate", number=e164, cls=f"{cls} at {start:%a %H:%M}",
                             plan=self.name)
        billed = billed_seconds(duration_s, row.initial_s, row.subsequent_s, row.free_seconds)
        if billed == 0:
            return Charge(0, 0, row)
        price = self._one_price(key, row, start, billed)
        if price is not None:  # the whole call in one period: one piece, one price
            usage = round_fen(billed * price, self.rounding)
            return Charge(max(usage + row.connect_fee_fen, row.min_charge_fen), billed, row,
                          ((billed, price),))
        return self._charge_by_pieces(key, row, start, billed)

    def _one_price(self, key: str, row: RateRow, start: datetime, billed: int) -> int | None:
        """The price of every unit when the call crosses no period boundary, else None.

        Why: the expected cost of every booking is a charge, and almost none crosses one;
        ``_charge_by_pieces`` looks the row up again for each piece.  Same result by rule 4:
        with one row for the key every unit pays its price (``current or row``); otherwise
        no row's window starts or ends before ``_next_change``, so every unit starting
        before it is priced by the row in force at the first unit's start."""
        rows = self._by_key[key]
        if len(rows) == 1:
            return row.price_per_min_fen
        t = start + timedelta(seconds=row.free_seconds)
        if t + timedelta(seconds=billed) > self._next_change(key, t):
            return None
        return (self.row_at(key, t) or row).price_per_min_fen

    def _charge_by_pieces(self, key: str, row: RateRow, start: datetime, billed: int
                          ) -> Charge:
        """Rule 4 piece by piece: each run of units priced by the row at its start."""
        parts: list[tuple[int, int]] = []
        t = start + timedelta(seconds=row.free_seconds)
        first = True
        remaining = billed
        while remaining > 0:
            current = self.row_at(key, t)
            price = (current or row).price_per_min_fen
            boundary = self._next_change(key, t)
            if first:
                piece = row.initial_s
                first = False
            else:
                room = (boundary - t).total_seconds()
                units = max(1, math.ceil(room / row.subsequent_s))
                piece = min(remaining, units * row.subsequent_s)
            piece = min(piece, remaining)
            if parts and parts[-1][1] == price:
                parts[-1] = (parts[-1][0] + piece, price)
            else:
                parts.append((piece, price))
            remaining -= piece
            t += timedelta(seconds=piece)
        usage = round_fen(sum(s * p for s, p in parts), self.rounding)
        amount = max(usage + row.connect_fee_fen, row.min_charge_fen)
        return Charge(amount, billed, row, tuple(parts))

    def _flat_dearest(self, e164: str, cls: str) -> tuple[Plan, str] | None:
        """A one-row plan priced at the dearest row of the key (None: free of charge)."""
        key = self.key_for(e164, cls)
        if key is None:
            if cls == "free":
                return None
            raise MoneyError("rate.no_rate", number=e164, cls=cls, plan=self.name)
        dearest = max(self._by_key[key], key=lambda r: (r.price_per_min_fen,
                                                         r.connect_fee_fen, r.min_charge_fen))
        flat = Plan(self.name, [RateRow(**{**dearest.__dict__, "match": "x", "days": "1234567",
                                           "start_minute": 0, "end_minute": 1440})],
                    rounding=self.rounding)
        return flat, key

    def worst_charge(self, e164: str, cls: str, seconds: int) -> int:
        """The most a call of ``seconds`` can cost, whatever the period it falls in."""
        flat = self._flat_dearest(e164, cls)
        if flat is None or seconds == 0:
            return 0
        return flat[0].charge(e164, "x", _T0, seconds).amount_fen

    def max_duration(self, e164: str, cls: str, available_fen: int) -> int:
        """Longest call (seconds) whose charge cannot exceed ``available_fen`` whatever the
        period: priced at the dearest row of the key.  0 if not even the first unit fits."""
        flat = self._flat_dearest(e164, cls)
        if flat is None or self.worst_charge(e164, cls, MAX_CALL_S) <= available_fen:
            return MAX_CALL_S
        lo, hi = 0, MAX_CALL_S
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.worst_charge(e164, cls, mid) <= available_fen:
                lo = mid
            else:
                hi = mid - 1
        return lo


_T0 = datetime(2000, 1, 3, tzinfo=UTC)
