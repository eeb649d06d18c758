"""Parsing the ISO 8601 timestamps clients send, into the UTC datetimes every database can store."""

from datetime import UTC, datetime


def parse_utc_timestamp(text: str) -> datetime:
    """An aware datetime in UTC, or ValueError saying what is wrong.

    Normalising to UTC matters: Python accepts offsets up to ±23:59, PostgreSQL only up to ±15:59.
    """
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {text[:40]!r}") from None
    if parsed.tzinfo is None:
        raise ValueError("needs a time zone, for example 2026-01-31T12:00:00Z")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"out of range: {text[:40]!r}") from None
