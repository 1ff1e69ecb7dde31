"""Relay-style cursors and page-size checks."""

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

import strawberry

from app.settings import get_settings
from schema.errors import PublicError
from schema.scalars import MAX_PK


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def _foreign_cursor() -> PublicError:
    return PublicError("The `after` cursor is not one this API gave out.", "INVALID_INPUT")


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
        raise PublicError(f"`first` must be between 0 and {limit}.", "INVALID_INPUT")
    return first


def page_info(cursors: list[str], has_next: bool, after: str | None) -> PageInfo:
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=after is not None,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )
