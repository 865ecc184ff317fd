"""Money: number classification, tariffs and rating, accounts with an append-only ledger,
prepaid cards and credit control.  ``ops`` holds the operations the CLI, web and IVR call."""
from .errors import MoneyError
from .numbers import CLASSES, Classification
from .tariff import Charge, Plan, RateRow

__all__ = ["CLASSES", "Charge", "Classification", "MoneyError", "Plan", "RateRow"]
