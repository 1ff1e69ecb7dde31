"""The DateTime scalar (offset required) and global ids."""

import base64
import binascii
from datetime import UTC, datetime

import strawberry

from resolvers.pagination import MAX_PK
from schema.errors import InvalidValue

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


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
    try:
        instant: datetime | None = parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        instant = None
    # Far from datetime's limits, so that time zones and durations added later cannot overflow.
    if instant is None or not EARLIEST <= instant < LATEST:
        raise InvalidValue(f"{value!r} is out of range: DateTime must lie in the years "
                           f"{EARLIEST.year}-{LATEST.year - 1} (UTC).")
    return instant


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
    if pk <= 0 or pk > MAX_PK:
        return None
    return type_name, pk
