"""Column types: UTC timestamps that refuse naive datetimes."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

__all__ = ["UTCDateTime", "utc"]


def utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime is refused (we never guess a zone)."""
    if value.tzinfo is None or value.utcoffset() is None:
        from confcall.rating.errors import MoneyError
        raise MoneyError("time.naive", value=value.isoformat())
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as UTC (naive on SQLite, timestamptz on PostgreSQL), always read back aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        value = utc(value)
        if getattr(dialect, "name", "") == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
