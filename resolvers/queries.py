"""Read-side queries: the meeting list and the other paginated lists, as plain pages of rows
(schema/ builds the connections). Callers pass the viewer's own id: access is theirs to
check (resolvers/access.py)."""

import asyncio
from collections.abc import Awaitable
from typing import Any

from tortoise.expressions import Q, Subquery

from core import clock
from models.accounts import Account, ExpertService
from models.chat import Conversation, Message
from models.enums import MeetingRole, MeetingStatus
from models.ledger import CreditEntry
from models.meetings import Meeting
from models.notifications import Notification
from resolvers.loaders import Loaders
from resolvers.pagination import (
    Page,
    cursor_id,
    cursor_instant,
    decode_cursor,
    encode_cursor,
    meeting_cursor,
    page_of,
    page_size,
)


async def prime_meetings(loaders: Loaders, rows: list[Meeting], fields: set[str]) -> None:
    """Loads the page's selected relations, one query each and concurrently, before the
    page is resolved, so that each meeting's fields find them ready (schema/types.py
    `_loaded`) instead of each awaiting its DataLoader in a task of its own."""
    loads: list[Awaitable[Any]] = []
    if "user" in fields or "expert" in fields:
        ids = {m.user_id for m in rows} if "user" in fields else set()
        ids |= {m.expert_id for m in rows} if "expert" in fields else set()
        loads.append(loaders.account.load_many(sorted(ids)))
    if "service" in fields:
        loads.append(loaders.service.load_many(sorted({m.service_id for m in rows})))
    if "skill" in fields:
        loads.append(loaders.skill.load_many(sorted({m.skill_id for m in rows})))
    if "timeline" in fields:
        loads.append(loaders.timeline.load_many([m.id for m in rows]))
    if loads:
        await asyncio.gather(*loads)


async def meeting_page(account_id: int, role: MeetingRole, upcoming: bool | None,
                       statuses: list[MeetingStatus] | None, first: int | None,
                       after: str | None, *, loaders: Loaders | None = None,
                       node_fields: set[str] | None = None) -> Page[Meeting]:
    limit = page_size(first)
    query = Meeting.all()
    if role is MeetingRole.EXPERT:
        query = query.filter(expert_id=account_id)
    elif role is MeetingRole.USER:
        query = query.filter(user_id=account_id)
    else:
        query = query.filter(Q(user_id=account_id) | Q(expert_id=account_id))
    if upcoming:
        # "Not yet taken place": the meeting has not ended.
        query = query.filter(ends_at__gt=clock.now())
    elif upcoming is False:
        query = query.filter(ends_at__lte=clock.now())
    if statuses:
        query = query.filter(status__in=statuses)
    cursor = decode_cursor(after, 2)  # a foreign cursor is refused before any query
    position = (cursor_instant(cursor[0]), cursor_id(cursor[1])) if cursor else None
    total = await query.count()
    if position is not None:
        at, last_id = position
        query = query.filter(Q(starts_at__gt=at) | Q(starts_at=at, id__gt=last_id))
    rows = await query.order_by("starts_at", "id").limit(limit + 1)
    if loaders is not None and node_fields and rows:
        await prime_meetings(loaders, rows[:limit], node_fields)
    return page_of(rows, [meeting_cursor(m) for m in rows], limit,
                   after, total)


async def unread_count(account_id: int) -> int:
    return await Notification.filter(recipient_id=account_id, read_at__isnull=True).count()


def _after_id(after: str | None) -> int | None:
    cursor = decode_cursor(after, 1)
    return cursor_id(cursor[0]) if cursor is not None else None


async def ledger_page(account_id: int, first: int | None,
                      after: str | None) -> Page[CreditEntry]:
    limit = page_size(first)
    query = CreditEntry.filter(account_id=account_id)
    if (last := _after_id(after)) is not None:
        query = query.filter(id__lt=last)
    rows = await query.order_by("-id").limit(limit + 1)
    return page_of(rows, [encode_cursor(r.id) for r in rows], limit, after)


async def notification_page(account_id: int, unread_only: bool, first: int | None,
                            after: str | None) -> tuple[Page[Notification], int]:
    """The page and the account's unread count."""
    limit = page_size(first)
    query = Notification.filter(recipient_id=account_id)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    if (last := _after_id(after)) is not None:
        query = query.filter(id__lt=last)
    rows = await query.order_by("-id").limit(limit + 1)
    unread = await unread_count(account_id)
    return page_of(rows, [encode_cursor(r.id) for r in rows], limit, after), unread


async def message_page(conversation_id: int, first: int | None,
                       after: str | None) -> Page[Message]:
    limit = page_size(first)
    query = Message.filter(conversation_id=conversation_id)
    if (last := _after_id(after)) is not None:
        query = query.filter(id__lt=last)
    rows = await query.order_by("-id").limit(limit + 1)
    return page_of(rows, [encode_cursor(r.id) for r in rows], limit, after)


async def conversations_of(account_id: int, first: int | None) -> list[Conversation]:
    """The account's conversations, latest message first."""
    return await Conversation.filter(
        Q(account_low_id=account_id) | Q(account_high_id=account_id)
    ).order_by("-last_message_at", "-id").limit(page_size(first))


async def experts(limit: int) -> list[Account]:
    offering = ExpertService.filter(active=True).values_list("expert_id", flat=True)
    return await Account.filter(id__in=Subquery(offering)).order_by(
        "display_name", "id").limit(limit)
