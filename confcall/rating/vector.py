"""Rate many legs at once with numpy (bulk re-rating, the benchmark, reconciliation).

Same rules as ``tariff.Plan.charge`` (see there), computed over arrays in one numba kernel
(``nogil``, cached on disk): per leg, the longest-prefix match is a binary search in the sorted
prefixes of each length present in the table (longest first), then increments, connect fee,
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
from numba import njit

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


@njit(nogil=True, cache=True)
def _rate_kernel(numbers, ndigits, classes, durations, class_row, lengths, starts, prefixes,
                 prefix_rows, price, initial, subsequent, connect, minimum, free, round_add,
                 pow10, out_row, out_billed, out_amount):  # pragma: no cover - compiled
    n_len = lengths.shape[0]
    for i in range(numbers.shape[0]):
        row = class_row[classes[i]]
        for k in range(n_len):
            shift = ndigits[i] - lengths[k]
            if shift < 0:
                continue
            lead = numbers[i] // pow10[shift]
            lo, hi = starts[k], starts[k + 1]
            while lo < hi:
                mid = (lo + hi) >> 1
                if prefixes[mid] < lead:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < starts[k + 1] and prefixes[lo] == lead:
                row = prefix_rows[lo]
                break
        out_row[i] = row
        d = durations[i]
        if row < 0 or d <= free[row]:
            out_billed[i] = 0
            out_amount[i] = 0
            continue
        rest = d - free[row]
        ini = initial[row]
        billed = ini
        if rest > ini:
            sub = subsequent[row]
            billed = ini + (rest - ini + sub - 1) // sub * sub
        usage = (billed * price[row] + round_add) // 60
        amount = usage + connect[row]
        amount = max(amount, minimum[row])
        out_billed[i] = billed
        out_amount[i] = amount


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
                          for r in self.rows], strict=True)) or [()] * 6
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
        self.lengths = np.array([n for n, _, _ in self.by_length], dtype=np.int64)
        self.starts = np.cumsum([0] + [len(p) for _, p, _ in self.by_length]).astype(np.int64)
        self.prefixes = np.concatenate([p for _, p, _ in self.by_length] or
                                       [np.zeros(0, dtype=np.int64)])
        self.prefix_rows = np.concatenate([r for _, _, r in self.by_length] or
                                          [np.zeros(0, dtype=np.int64)])

    def rate(self, numbers: np.ndarray, ndigits: np.ndarray, classes: np.ndarray,
             durations: np.ndarray, answered_at: list[datetime] | None = None,
             e164: list[str] | None = None) -> VectorResult:
        n = len(numbers)
        row = np.empty(n, dtype=np.int64)
        billed = np.empty(n, dtype=np.int64)
        amount = np.empty(n, dtype=np.int64)
        d = np.ascontiguousarray(durations, dtype=np.int64)
        _rate_kernel(np.ascontiguousarray(numbers, dtype=np.int64),
                     np.ascontiguousarray(ndigits, dtype=np.int64),
                     np.ascontiguousarray(classes, dtype=np.int64), d, self.class_row,
                     self.lengths, self.starts, self.prefixes, self.prefix_rows, self.price,
                     self.initial, self.subsequent, self.connect, self.minimum, self.free,
                     self.round_add, _POW10, row, billed, amount)
        needs = self.multi[row] & (d > 0)
        if answered_at is not None and e164 is not None and needs.any():
            for i in np.flatnonzero(needs):
                ch = self.plan.charge(e164[i], CLASSES[classes[i]], answered_at[i], int(d[i]))
                amount[i], billed[i] = ch.amount_fen, ch.billed_s
            needs = np.zeros_like(needs)
        return VectorResult(amount, billed, row, needs)
