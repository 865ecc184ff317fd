"""What a booking derives from the reference data, cached per database and per generation.

Why: a booking classifies every number (normalisation, operator rules, area prefixes) and
prices every leg (the payer's rate plan).  Those tables change a few times a year, yet reading
them cost two thirds of a booking's statements.  Here each answer is computed once and kept,
tagged with the ``reference_generation`` counter that database triggers bump in the same
transaction as any change to ``area_prefixes``, ``number_rules``, ``rate_plans`` or ``rates``
(migration 0014).  A booking reads the counter inside its own transaction (one primary-key
read, joined to the account's row); a different value drops the cache first, so a booking
never uses data older than what its transaction sees.

One cache per engine (a process may talk to several databases: tests, the CLI); entries are
plain immutable values (``Classification``, ``Plan``, or the ``MoneyError`` a number is
refused with), bounded in number.  The DB thread pool's threads share it: each thread reads
the dict of the generation it saw and fills only that dict, so a thread still on an older
generation can never put old data into a newer generation's dict.
"""
from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from confcall.rating import MoneyError
from confcall.rating.numbers import Classification, classify, normalize
from confcall.rating.rates import load_plan
from confcall.rating.tariff import Plan

__all__ = ["MAX_ENTRIES", "Generation", "generation_for"]

MAX_ENTRIES = 50_000  # distinct (number, home area) answers kept per database


@dataclass
class Generation:
    """The cached answers valid while the counter reads ``number`` (None: the counter row is
    missing, nothing is cached and every answer is read from the tables)."""
    number: int | None
    numbers: dict[tuple[str, str], Classification | MoneyError] = field(default_factory=dict)
    plans: dict[int | None, Plan] = field(default_factory=dict)

    def classification(self, session: Session, entered: str, home_area: str
                       ) -> Classification:
        """``normalize`` + ``classify`` of a typed number; raises the ``MoneyError`` a
        malformed one gets (as the uncached functions do)."""
        key = (entered, home_area)
        found = self.numbers.get(key)
        if found is None:
            try:
                found = classify(session, normalize(entered, home_area), home_area)
            except MoneyError as err:
                found = err
            self._keep(self.numbers, key, found)
        if isinstance(found, MoneyError):
            raise MoneyError(found.key, **found.params)  # a fresh one: tracebacks don't pile up
        return found

    def plan(self, session: Session, plan_id: int | None) -> Plan:
        """The payer's whole rate plan (``default`` when the account has none)."""
        plan = self.plans.get(plan_id)
        if plan is None:
            plan = load_plan(session, plan_id=plan_id) if plan_id is not None else \
                load_plan(session, "default")
            if self.number is not None:
                self.plans[plan_id] = plan
        return plan

    def _keep(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        if self.number is None:
            return
        if len(table) >= MAX_ENTRIES:
            table.clear()  # a flood of distinct numbers: start over rather than grow
        table[key] = value


class _PerEngine:
    def __init__(self) -> None:
        self.current = Generation(None)


_CACHES: weakref.WeakKeyDictionary[Engine, _PerEngine] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def generation_for(session: Session, number: int | None) -> Generation:
    """The cache of this session's database for the counter value ``number`` that the
    caller read in its transaction."""
    if number is None:
        return Generation(None)
    bind = session.get_bind()
    engine: Engine = bind.engine  # a Connection's Engine, or the Engine itself
    per = _CACHES.get(engine)
    if per is None:
        with _LOCK:
            per = _CACHES.setdefault(engine, _PerEngine())
    current = per.current
    if current.number != number:
        current = Generation(number)
        per.current = current  # atomic swap; threads holding the old one keep using it
    return current
