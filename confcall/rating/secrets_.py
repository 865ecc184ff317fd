"""PIN hashing: argon2id over HMAC-SHA256(pepper, PIN), and keyed hashes for card PINs.

A 6-digit PIN has a million values: whatever the KDF, a stolen database alone must not be
enough, so every PIN is first keyed with a server-side *pepper* kept outside the database
(``CONFCALL_PEPPER`` or the file named by ``CONFCALL_PEPPER_FILE``).  Subscriber PINs then go
through argon2id (production: 3 passes, 64 MiB, ~100 ms — run it in the DB thread pool, never
on the reactor).  Card PINs are 12 random digits from a CSPRNG (40 bits) and are checked once;
they use HMAC-SHA256(pepper, serial:PIN), so a batch of 10,000 cards is generated in
milliseconds, and online guessing is stopped by the per-card and per-account lockouts.

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
    "hash_pin",
    "needs_rehash",
    "set_pepper",
    "verify_pin",
]

PROFILES = {
    "production": {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 1},
    "test": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}
_hasher: PasswordHasher | None = None
_pepper: bytes | None = None


def configure(profile: str | None = None, **params: int) -> None:
    """Select the argon2 parameters (``production`` unless CONFCALL_ARGON2 says otherwise)."""
    global _hasher
    profile = profile or os.environ.get("CONFCALL_ARGON2", "production")
    chosen = {**PROFILES[profile], **params}
    _hasher = PasswordHasher(time_cost=chosen["time_cost"], memory_cost=chosen["memory_cost"],
                             parallelism=chosen["parallelism"])


def set_pepper(pepper: bytes | None) -> None:
    global _pepper
    _pepper = pepper


def _get_pepper() -> bytes:
    global _pepper
    if _pepper is None:
        if os.environ.get("CONFCALL_PEPPER"):
            _pepper = os.environ["CONFCALL_PEPPER"].encode()
        elif os.environ.get("CONFCALL_PEPPER_FILE"):
            with open(os.environ["CONFCALL_PEPPER_FILE"], "rb") as f:
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


def card_pin_hash(serial: str, pin: str) -> str:
    return _keyed(f"card:{serial}:{pin}")


def check_card_pin(stored: str, serial: str, pin: str) -> bool:
    return hmac.compare_digest(stored, card_pin_hash(serial, pin))
