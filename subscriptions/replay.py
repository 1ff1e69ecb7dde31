"""What a subscriber missed while it was away: the events after a position it saw.

* `meetingChanged` positions are outbox row ids. The rows after one are those the relay
  delivered after it: ordered by (`delivered_at`, `id`), the relay's publish order. Rows
  delivered up to `SLACK` before the position are replayed too (two server processes'
  relays publish concurrently, so their order on the wire and their `delivered_at` may
  differ slightly): a client sees such an event twice and ignores the second (same
  position). Past `retention` or beyond `LIMIT` rows the replay is not attempted and the
  subscriber is told to refetch instead.
* `notificationReceived` and `messageAdded` positions are notification and message ids;
  their rows are kept, so the replay reads them from their tables: those created since
  `ROW_SLACK` before the position's own row (a transaction may commit after a later one: its
  row is older than its commit by at most the request timeout), again duplicates allowed.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from tortoise.models import Model

from core import clock
from models.chat import Message
from models.enums import OutboxKind
from models.notifications import Notification
from models.outbox import OutboxEntry
from subscriptions import channels

SLACK = timedelta(seconds=1)
ROW_SLACK = timedelta(seconds=30)
LIMIT = 10_000
R = TypeVar("R", bound=Model)


@dataclass
class Replay:
    events: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True  # False: some events could not be replayed, the client must refetch


def _event(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "kind": OutboxKind.MEETING_CHANGED.value, **row["payload"]}


async def meeting_changes_after(position: int, channel: str,
                                retention: timedelta) -> Replay:
    anchor = await OutboxEntry.get_or_none(id=position, kind=OutboxKind.MEETING_CHANGED)
    if anchor is None or anchor.delivered_at is None or (
            anchor.delivered_at < clock.now() - retention):
        return Replay(complete=False)
    rows = await OutboxEntry.filter(
        kind=OutboxKind.MEETING_CHANGED, delivered_at__gte=anchor.delivered_at - SLACK,
    ).order_by("delivered_at", "id").limit(LIMIT + 1).values("id", "payload")
    events = [_event(r) for r in rows[:LIMIT] if r["id"] != anchor.id
              and channel in channels.for_entry(OutboxKind.MEETING_CHANGED, r["payload"])]
    return Replay(events, complete=len(rows) <= LIMIT)


async def notifications_after(notification_id: int, recipient_id: int) -> list[Notification]:
    return await _rows_after(Notification, notification_id, recipient_id=recipient_id)


async def messages_after(message_id: int, conversation_id: int) -> list[Message]:
    return await _rows_after(Message, message_id, conversation_id=conversation_id)


async def _rows_after(model: type[R], row_id: int, **scope: int) -> list[R]:
    """The rows of `scope` (one recipient's, one conversation's) since `row_id`'s own, which
    must be in that scope too."""
    anchor = await model.filter(id=row_id, **scope).first()
    if anchor is None:
        return []
    created_at = anchor.created_at  # type: ignore[attr-defined]
    return await model.filter(**scope, created_at__gte=created_at - ROW_SLACK,
                              ).exclude(id=row_id).order_by("id")
