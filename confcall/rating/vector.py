"""Rate many legs at once with numpy (bulk re-rating, the benchmark, reconciliation).

Same rules as ``tariff.Plan.charge`` (see there), computed over arrays: longest-prefix match by
one ``searchsorted`` per prefix length present in the table, then increments, connect fee,
minimum charge and the plan's rounding in int64 arithmetic.  Keys that have several time
periods are left to the exact scalar path (``needs_scalar``), so results are always identical
to ``Plan.charge`` — a test checks this on random legs.

Inputs: destinations as int64 E.164 digits (without ``+``) plus their digit count, class codes
(index into ``numbers.CLASSES``), durations in seconds (0 = unanswered).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from .numbers import CLASSES
from .tariff import Plan, RateRow

__all__ = ["VectorRater", "VectorResult", "encode_numbers"]

_POW10 = np.array([10 ** i for i in range(19)], dtype=np.int64)
_ROUND_ADD = {"up": 59, "half_up": 30, "down": 0}


@dataclass
class VectorResult:
    amount_fen: np.ndarray
    billed_s: np.ndarray
    row: np.ndarray  # index into the rater's rows, -1 = no rate
    needs_scalar: np.ndarray  # bool: key has periods, rated by Plan.charge instead


def encode_numbers(e164: list[str]) -> tuple[np.ndarray, np.ndarray]:
    digits = [n.lstrip("+") for n in e164]
    return (np.array([int(d) for d in digits], dtype=np.int64),
            np.array([len(d) for d in digits], dtype=np.int64))


class VectorRater:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        keys: dict[str, list] = {}
        for r in plan.rows:
            keys.setdefault(r.match, []).append(r)
        self.rows: list[RateRow] = []
        multi: list[bool] = []
        key_row: dict[str, int] = {}
        for key, rows in keys.items():
            key_row[key] = len(self.rows)
            self.rows.append(rows[0])
            multi.append(len(rows) > 1 or rows[0].width != 7 * 1440)
        self.multi = np.array(multi + [False], dtype=bool)
        cols = list(zip(*[(r.price_per_min_fen, r.initial_s, r.subsequent_s,
                           r.connect_fee_fen, r.min_charge_fen, r.free_seconds)
                          for r in self.rows])) or [()] * 6
        # a sentinel row at the end (index -1) for "no rate"
        self.price, self.initial, self.subsequent, self.connect, self.minimum, self.free = (
            np.array(list(c) + [0], dtype=np.int64) for c in cols)
        self.initial[-1] = self.subsequent[-1] = 1
        self.by_length: list[tuple[int, np.ndarray, np.ndarray]] = []
        lengths = sorted({len(k) - 1 for k in key_row if k.startswith("+")}, reverse=True)
        for n in lengths:
            items = sorted((int(k[1:]), i) for k, i in key_row.items()
                           if k.startswith("+") and len(k) - 1 == n)
            self.by_length.append((n, np.array([p for p, _ in items], dtype=np.int64),
                                   np.array([i for _, i in items], dtype=np.int64)))
        self.class_row = np.array([key_row.get(c, -1) for c in CLASSES], dtype=np.int64)
        self.round_add = _ROUND_ADD[plan.rounding]

    def match(self, numbers: np.ndarray, ndigits: np.ndarray,
              classes: np.ndarray) -> np.ndarray:
        row = self.class_row[classes]
        done = np.zeros(len(numbers), dtype=bool)
        for n, prefixes, rows in self.by_length:
            shift = ndigits - n
            ok = ~done & (shift >= 0)
            lead = numbers // _POW10[np.clip(shift, 0, 18)]
            pos = np.searchsorted(prefixes, lead)
            pos = np.minimum(pos, len(prefixes) - 1)
            hit = ok & (prefixes[pos] == lead)
            row = np.where(hit, rows[pos], row)
            done |= hit
        return row

    def rate(self, numbers: np.ndarray, ndigits: np.ndarray, classes: np.ndarray,
             durations: np.ndarray, answered_at: list[datetime] | None = None,
             e164: list[str] | None = None) -> VectorResult:
        row = self.match(numbers, ndigits, classes)
        d = durations.astype(np.int64)
        free, ini, sub = self.free[row], self.initial[row], self.subsequent[row]
        rest = d - free
        over = np.maximum(rest - ini, 0)
        billed = np.where(rest <= 0, 0, ini + (over + sub - 1) // sub * sub)
        billed = np.where(row < 0, 0, billed)
        usage = (billed * self.price[row] + self.round_add) // 60
        amount = np.where(billed > 0, np.maximum(usage + self.connect[row], self.minimum[row]),
                          0)
        needs = self.multi[row] & (d > 0)
        if answered_at is not None and e164 is not None and needs.any():
            for i in np.flatnonzero(needs):
                ch = self.plan.charge(e164[i], CLASSES[classes[i]], answered_at[i], int(d[i]))
                amount[i], billed[i] = ch.amount_fen, ch.billed_s
            needs = np.zeros_like(needs)
        return VectorResult(amount, billed, row, needs)
