"""PIN hashing: argon2id over HMAC-SHA256(pepper, PIN), and keyed hashes for card PINs.

A 6-digit PIN has a million values: whatever the KDF, a stolen database alone must not be
enough, so every PIN is first keyed with a server-side *pepper* kept outside the database
(``CONFCALL_PEPPER``, the file named by ``CONFCALL_PEPPER_FILE``, else the default file of
``pepper``: /etc/confcall/pepper or ~/.config/confcall/pepper, never beside the database).
Subscriber PINs then go through argon2id (production: 3 passes, 64 MiB, ~100 ms — run it in
the DB thread pool, never on the reactor). Card PINs are 12 random digits from a CSPRNG (40
bits): argon2id over HMAC-SHA256(pepper, "card:serial:PIN") with a cheaper profile (2
passes, 2 MiB, ~3 ms), so ``card generate`` stays above 10,000 cards/min while a stolen
database *and* pepper costs an offline search ~3 ms per guess per core (10^12 PINs per
card). Hashes written before issue 14 (bare HMAC hex) still verify; migration 0010 wraps
them in argon2id (same input).

Unknown accounts and card serials are answered after ``dummy_verify``/``dummy_card_verify``:
the same argon2 work as a real check, so timing tells nothing about existence.

Tests select a cheap argon2 profile with ``CONFCALL_ARGON2=test`` (or ``configure``).
"""
from __future__ import annotations

import hashlib
import hmac
import os

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import MoneyError

__all__ = [
    "card_pin_hash",
    "check_card_pin",
    "configure",
    "dummy_card_verify",
    "dummy_verify",
    "hash_pin",
    "needs_rehash",
    "set_pepper",
    "verify_pin",
    "wrap_card_hmac",
]

PROFILES = {
    "production": {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 1},
    "test": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}
CARD_PROFILES = {
    "production": {"time_cost": 2, "memory_cost": 2048, "parallelism": 1},
    "test": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}
_hasher: PasswordHasher | None = None
_card_hasher: PasswordHasher | None = None
_dummy: dict[str, str] = {}  # a hash of each hasher's current parameters (for dummy checks)
_pepper: bytes | None = None


def configure(profile: str | None = None, **params: int) -> None:
    """Select the argon2 parameters (``production`` unless CONFCALL_ARGON2 says otherwise)."""
    global _hasher, _card_hasher
    profile = profile or os.environ.get("CONFCALL_ARGON2", "production")
    chosen = {**PROFILES[profile], **params}
    _hasher = PasswordHasher(time_cost=chosen["time_cost"], memory_cost=chosen["memory_cost"],
                             parallelism=chosen["parallelism"])
    card = CARD_PROFILES[profile]
    _card_hasher = PasswordHasher(time_cost=card["time_cost"], memory_cost=card["memory_cost"],
                                  parallelism=card["parallelism"])
    _dummy.clear()


def set_pepper(pepper: bytes | None) -> None:
    global _pepper
    _pepper = pepper


def _get_pepper() -> bytes:
    global _pepper
    if _pepper is None:
        if os.environ.get("CONFCALL_PEPPER"):
            _pepper = os.environ["CONFCALL_PEPPER"].encode()
        else:
            from . import pepper
            named = os.environ.get("CONFCALL_PEPPER_FILE")
            path = named or pepper.find()  # the service's default file, when it exists
            if path:
                with open(path, "rb") as f:
                    _pepper = f.read().strip()
        if not _pepper:
            _pepper = None
            raise MoneyError("config.pepper")
    return _pepper


def _hasher_() -> PasswordHasher:
    if _hasher is None:
        configure()
    assert _hasher is not None
    return _hasher


def _card_hasher_() -> PasswordHasher:
    if _card_hasher is None:
        configure()
    assert _card_hasher is not None
    return _card_hasher


def _keyed(text: str) -> str:
    return hmac.new(_get_pepper(), text.encode(), hashlib.sha256).hexdigest()


def hash_pin(pin: str) -> str:
    return _hasher_().hash(_keyed(pin))


def verify_pin(stored: str, pin: str) -> bool:
    try:
        return _hasher_().verify(stored, _keyed(pin))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher_().check_needs_rehash(stored)


def dummy_verify(pin: str) -> bool:
    """The work of ``verify_pin`` against a hash nobody's PIN matches (unknown account)."""
    if "pin" not in _dummy:
        _dummy["pin"] = _hasher_().hash(_keyed("no account has this hash"))
    verify_pin(_dummy["pin"], pin)
    return False


def card_pin_hash(serial: str, pin: str) -> str:
    return _card_hasher_().hash(_keyed(f"card:{serial}:{pin}"))


def wrap_card_hmac(hmac_hex: str) -> str:
    """An old (bare HMAC) card hash re-stored under argon2id: same check input, slow hash."""
    return _card_hasher_().hash(hmac_hex)


def check_card_pin(stored: str, serial: str, pin: str) -> bool:
    keyed = _keyed(f"card:{serial}:{pin}")
    if not stored.startswith("$argon2"):  # written before migration 0010
        return hmac.compare_digest(stored, keyed)
    try:
        return _card_hasher_().verify(stored, keyed)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def dummy_card_verify(serial: str, pin: str) -> bool:
    """The work of ``check_card_pin`` for a serial that does not exist."""
    if "card" not in _dummy:
        _dummy["card"] = _card_hasher_().hash(_keyed("no card has this hash"))
    check_card_pin(_dummy["card"], serial, pin)
    return False
