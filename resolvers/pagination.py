"""Cursors, page-size checks and the plain page that list queries return."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from core.errors import ErrorCode, PublicError
from core.settings import get_settings

MAX_PK = 2**31 - 1  # the id columns are 32-bit integers (PostgreSQL refuses larger values)
T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of rows, each with its cursor; schema/ turns it into a connection."""

    rows: list[T]
    cursors: list[str]
    has_next: bool
    has_previous: bool
    total: int | None = None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def meeting_cursor(meeting: Any) -> str:
    """A meeting's place in `meetings` lists, which sort by (starts_at, id)."""
    return encode_cursor(meeting.starts_at.isoformat(), meeting.id)


def _foreign_cursor() -> PublicError:
    return PublicError(ErrorCode.INVALID_INPUT, "The `after` cursor is not one this API gave out.")


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, RecursionError):  # RecursionError: "[[[[..."
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise _foreign_cursor()
    return values


def cursor_id(value: Any) -> int:
    """A row id read from a cursor: a positive integer, as `encode_cursor` wrote it."""
    if type(value) is not int or not 0 < value <= MAX_PK:
        raise _foreign_cursor()
    return value


def cursor_instant(value: Any) -> datetime:
    """An instant read from a cursor: an ISO-8601 string with an offset."""
    try:
        instant = datetime.fromisoformat(value) if isinstance(value, str) else None
        if instant is not None and instant.utcoffset() is not None:
            return instant.astimezone(UTC)
    except (ValueError, OverflowError):
        pass
    raise _foreign_cursor()


def page_size(first: int | None) -> int:
    limit = get_settings().max_page_size
    if first is None:
        return 20
    if first < 0 or first > limit:
        raise PublicError(ErrorCode.INVALID_INPUT, f"`first` must be between 0 and {limit}.")
    return first


def page_of(rows: list[T], cursors: list[str], limit: int, after: str | None,
            total: int | None = None) -> Page[T]:
    """The first `limit` of `rows` (fetched with one more, to know whether a next page
    exists)."""
    return Page(rows=rows[:limit], cursors=cursors[:limit], has_next=len(rows) > limit,
                has_previous=after is not None, total=total)
