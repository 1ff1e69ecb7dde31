"""The DateTime scalar (offset required) and global ids."""

import base64
import binascii
from datetime import UTC, datetime

import strawberry

from schema.errors import InvalidValue


def _parse_datetime(value: object) -> datetime:
    if not isinstance(value, str):
        raise InvalidValue("DateTime must be an ISO-8601 string with a UTC offset.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{value!r} is not an ISO-8601 date and time.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidValue(
            f"{value!r} has no UTC offset: naive date-times are rejected "
            "(e.g. 2026-12-01T09:30:00+01:00)."
        )
    return parsed.astimezone(UTC)


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Fields are annotated with `DateTime` (plain datetime); the schema maps it to this scalar.
DateTime = datetime
DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description=(
        "ISO-8601 date and time with a UTC offset, e.g. 2026-12-01T09:30:00+01:00. "
        "Naive values are rejected."
    ),
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)


def to_global_id(type_name: str, pk: int) -> strawberry.ID:
    return strawberry.ID(base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode())


def from_global_id(value: str | None, type_name: str) -> int | None:
    """The primary key behind a global id of the given type, or None for anything else (an
    unreadable or foreign id is as unknown as a missing one)."""
    parsed = parse_global_id(value)
    if parsed is None or parsed[0] != type_name:
        return None
    return parsed[1]


def parse_global_id(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    try:
        decoded = base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4)).decode()
        type_name, _, raw = decoded.partition(":")
        pk = int(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if pk <= 0 or pk > 2**63 - 1:
        return None
    return type_name, pk
