"""Read-side queries: the meeting list and the other paginated lists."""

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from tortoise.expressions import Q

from app import clock
from models.chat import Message
from models.enums import MeetingStatus
from models.ledger import CreditEntry
from models.meetings import Meeting
from models.notifications import Notification
from resolvers.loaders import Loaders
from schema import types as t
from schema.enums import MeetingRole
from schema.pagination import (
    cursor_id,
    cursor_instant,
    decode_cursor,
    encode_cursor,
    page_info,
    page_size,
)


def selected_names(selections: Iterable[Any], path: tuple[str, ...]) -> set[str]:
    """The field names selected at `path` below these selections (Strawberry's
    `info.selected_fields`), fragments included."""
    names: set[str] = set()
    for selection in selections:
        name = getattr(selection, "name", None)
        children = getattr(selection, "selections", None) or []
        if getattr(selection, "type_condition", None) is not None or name is None \
                or not hasattr(selection, "arguments"):  # a fragment: same level
            names |= selected_names(children, path)
        elif not path:
            names.add(name)
        elif name == path[0]:
            names |= selected_names(children, path[1:])
    return names


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
                       node_fields: set[str] | None = None) -> t.MeetingConnection:
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
    total = await query.count()
    cursor = decode_cursor(after, 2)
    if cursor is not None:
        at, last_id = cursor_instant(cursor[0]), cursor_id(cursor[1])
        query = query.filter(Q(starts_at__gt=at) | Q(starts_at=at, id__gt=last_id))
    rows = await query.order_by("starts_at", "id").limit(limit + 1)
    if loaders is not None and node_fields and rows:
        await prime_meetings(loaders, rows[:limit], node_fields)
    edges = [t.MeetingEdge(cursor=encode_cursor(m.starts_at.isoformat(), m.id),
                           node=t.Meeting.of(m)) for m in rows[:limit]]
    return t.MeetingConnection(
        edges=edges,
        page_info=page_info([e.cursor for e in edges], len(rows) > limit, after),
        total_count=total,
    )


def _after_id(after: str | None) -> int | None:
    cursor = decode_cursor(after, 1)
    return cursor_id(cursor[0]) if cursor is not None else None


async def ledger_page(account_id: int, first: int | None,
                      after: str | None) -> t.CreditEntryConnection:
    limit = page_size(first)
    query = CreditEntry.filter(account_id=account_id)
    if (last := _after_id(after)) is not None:
        query = query.filter(id__lt=last)
    rows = await query.order_by("-id").limit(limit + 1)
    edges = [t.CreditEntryEdge(cursor=encode_cursor(r.id),
                               node=t.CreditEntry.of(r))
             for r in rows[:limit]]
    return t.CreditEntryConnection(
        edges=edges, page_info=page_info([e.cursor for e in edges], len(rows) > limit, after))


async def notification_page(account_id: int, unread_only: bool, first: int | None,
                            after: str | None) -> t.NotificationConnection:
    limit = page_size(first)
    query = Notification.filter(recipient_id=account_id)
    if unread_only:
        query = query.filter(read_at__isnull=True)
    if (last := _after_id(after)) is not None:
        query = query.filter(id__lt=last)
    rows = await query.order_by("-id").limit(limit + 1)
    unread = await Notification.filter(recipient_id=account_id, read_at__isnull=True).count()
    edges = [t.NotificationEdge(cursor=encode_cursor(r.id), node=notification(r))
             for r in rows[:limit]]
    return t.NotificationConnection(
        edges=edges, page_info=page_info([e.cursor for e in edges], len(rows) > limit, after),
        unread_count=unread)


def notification(row: Notification) -> t.Notification:
    return t.Notification.of(row)


async def message_page(conversation_id: int, first: int | None,
                       after: str | None) -> t.MessageConnection:
    limit = page_size(first)
    query = Message.filter(conversation_id=conversation_id)
    if (last := _after_id(after)) is not None:
        query = query.filter(id__lt=last)
    rows = await query.order_by("-id").limit(limit + 1)
    edges = [t.MessageEdge(cursor=encode_cursor(r.id), node=t.Message.of(r))
             for r in rows[:limit]]
    return t.MessageConnection(
        edges=edges, page_info=page_info([e.cursor for e in edges], len(rows) > limit, after))
