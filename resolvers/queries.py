"""Read-side queries: the meeting list and the other paginated lists, as plain pages of rows
(schema/ builds the connections). Callers pass the viewer's own id: access is theirs to
check (resolvers/access.py)."""

import asyncio
from collections.abc import Awaitable, Hashable, Iterable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q, Subquery

from core import clock
from models.accounts import Account, ExpertService
from models.chat import Conversation, Message
from models.enums import MeetingRole, MeetingStatus
from models.ledger import CreditEntry
from models.notifications import Notification
from models.rows import MeetingRow, meeting_reader
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

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


async def _prime(loader: DataLoader[K, V], keys: Iterable[K]) -> None:
    """The loader's own batch function for the keys it does not hold yet, its values put in
    its cache: the one statement `load_many` would send, without a future and a batch task
    per key (DataLoader.load's cost was a tenth of a list request in the profile)."""
    missing = [k for k in keys if loader.cache_map.get(k) is None]
    if missing:
        values = await loader.load_fn(missing)
        # A per-key error stays the loader's to raise when the field loads that key.
        loader.prime_many({k: v for k, v in zip(missing, values, strict=True)
                           if not isinstance(v, BaseException)})


async def prime_meetings(loaders: Loaders, rows: Sequence[MeetingRow], fields: set[str]) -> None:
    """Loads the page's selected relations, one query each and concurrently, before the
    page is resolved, so that each meeting's fields find them ready (schema/types.py
    `relation`) instead of each awaiting its DataLoader in a task of its own."""
    loads: list[Awaitable[None]] = []
    if "user" in fields or "expert" in fields:
        ids = {m.user_id for m in rows} if "user" in fields else set()
        ids |= {m.expert_id for m in rows} if "expert" in fields else set()
        loads.append(_prime(loaders.account, sorted(ids)))
    if "service" in fields:
        loads.append(_prime(loaders.service, sorted({m.service_id for m in rows})))
    if "skill" in fields:
        loads.append(_prime(loaders.skill, sorted({m.skill_id for m in rows})))
    if "timeline" in fields:
        loads.append(_prime(loaders.timeline, [m.id for m in rows]))
    if loads:
        await asyncio.gather(*loads)


async def meeting_page(account_id: int, role: MeetingRole, upcoming: bool | None,
                       statuses: list[MeetingStatus] | None, first: int | None,
                       after: str | None, *, loaders: Loaders | None = None,
                       node_fields: set[str] | None = None) -> Page[MeetingRow]:
    limit = page_size(first)
    cursor = decode_cursor(after, 2)  # a foreign cursor is refused before any query
    position = (cursor_instant(cursor[0]), cursor_id(cursor[1])) if cursor else None
    p = meeting_reader.params()
    now = clock.now()

    def matching() -> list[str]:
        """The list's filter (without the cursor), its values added to `p`."""
        if role is MeetingRole.EXPERT:
            where = [f'"expert_id" = {p("expert_id", account_id)}']
        elif role is MeetingRole.USER:
            where = [f'"user_id" = {p("user_id", account_id)}']
        else:
            where = [f'("user_id" = {p("user_id", account_id)} '
                     f'OR "expert_id" = {p("expert_id", account_id)})']
        if upcoming:
            # "Not yet taken place": the meeting has not ended.
            where.append(f'"ends_at" > {p("ends_at", now)}')
        elif upcoming is False:
            where.append(f'"ends_at" <= {p("ends_at", now)}')
        if statuses:
            where.append(p.any_of("status", statuses))
        return where

    # The count and the page in one statement; the count ignores the cursor.
    counted = " AND ".join(matching())
    where = matching()
    if position is not None:
        at, last_id = position
        where.append(f'("starts_at" > {p("starts_at", at)} OR ("starts_at" = '
                     f'{p("starts_at", at)} AND "id" > {p("id", last_id)}))')
    found, total = await meeting_reader.fetch_counted(
        counted, " AND ".join(where), ("starts_at", "id"), limit + 1, p)
    if loaders is not None and node_fields and found:
        await prime_meetings(loaders, found[:limit], node_fields)
    return page_of(found, [meeting_cursor(m) for m in found], limit, after, total)


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
