"""Money: number classification, tariffs and rating, accounts with an append-only ledger,
prepaid cards and credit control.  Integer fen everywhere, times UTC-aware.

Who calls what (all functions take a ``confcall.store.Store`` first; from the reactor wrap
them as ``DbRunner(store, reactor).call_plain(ops.x, ...)`` — never call them on the reactor
thread, the store refuses):

- access number: ``ops.check_caller(store, ani, min_available_fen=1)``
- service IVR and web: ``ops.authenticate``, ``ops.balance`` (with a password),
  ``ops.recharge_by_card``, ``ops.change_password`` — each with ``source=`` naming who tries
  the secret (``"ani:+86…"``, ``"ip:…"``, ``"cli"``), for the throttles (``throttle``:
  counted before the check, per source and per target, never locking the owner out)
- call control, per outbound leg: ``leg_credit.LegCredit`` (authorize before dialling, timers for
  extension / warnings / clearing, settle at hang-up), or the raw steps ``ops.authorize_leg``,
  ``ops.extend_leg``, ``ops.release_leg``, ``ops.settle_leg``; at the end of a conference
  ``ops.close_conference`` (the itemised record)
- web / CLI: ``ops.create_account``, ``lock_account``, ``unlock_account``, ``adjust``,
  ``statement``, ``quote``, ``generate_cards``, ``activate_batch``, ``void_card``,
  ``void_batch``, ``import_rates``, ``export_rates``, ``account_limits`` (toll-fraud limits,
  checked in ``authorize_leg`` by ``fraud``)

Every refusal is a ``MoneyError`` with a stable ``key`` and ``text("en"|"zh")``.
"""
from .errors import MoneyError
from .numbers import CLASSES, Classification
from .tariff import Charge, Plan, RateRow

__all__ = ["CLASSES", "Charge", "Classification", "MoneyError", "Plan", "RateRow"]
