"""Relay-style cursors and page-size checks."""

import base64
import binascii
import json
from typing import Any

import strawberry

from app.settings import get_settings
from schema.errors import PublicError


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise PublicError("The `after` cursor is not one this API gave out.", "INVALID_INPUT")
    return values


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
