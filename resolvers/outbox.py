"""Writing side effects into the outbox, inside the caller's transaction (SPEC §4 "Nothing is
lost"). Delivery happens after commit (subscriptions/, workers/)."""

from typing import Any

from core import clock
from models.enums import NotificationKind, OutboxKind
from models.meetings import Meeting
from models.notifications import Notification
from models.outbox import OutboxEntry


def entry(kind: OutboxKind, payload: dict[str, Any]) -> OutboxEntry:
    """An outbox row not yet written: callers with several write them in one insert."""
    return OutboxEntry(kind=kind, payload=payload, created_at=clock.now())


async def record(kind: OutboxKind, payload: dict[str, Any]) -> OutboxEntry:
    row = entry(kind, payload)
    await row.save()
    return row


async def record_all(rows: list[OutboxEntry]) -> None:
    if rows:
        await OutboxEntry.bulk_create(rows)  # in list order, so ids keep the causal order


def meeting_change(meeting: Meeting, event_id: int | None) -> OutboxEntry:
    """The live event of any committed change to a meeting (SPEC §8), by a party or the
    system: its version, the timeline event that caused it, and who may see it."""
    return entry(OutboxKind.MEETING_CHANGED, {
        "meeting_id": meeting.id,
        "version": meeting.version,
        "event_id": event_id,
        "account_ids": [meeting.user_id, meeting.expert_id],
    })


def notification(recipient_id: int, kind: NotificationKind, title: str, body: str,
                 meeting_id: int | None = None) -> Notification:
    """A notification not yet written."""
    return Notification(recipient_id=recipient_id, kind=kind, title=title, body=body,
                        meeting_id=meeting_id, created_at=clock.now())


def notification_event(written: Notification) -> OutboxEntry:
    """The live event of a notification (its id is None until it is written)."""
    return entry(OutboxKind.NOTIFICATION,
                 {"notification_id": written.id, "recipient_id": written.recipient_id})


async def notify(
    recipient_id: int,
    kind: NotificationKind,
    title: str,
    body: str,
    meeting_id: int | None = None,
) -> Notification:
    written = notification(recipient_id, kind, title, body, meeting_id)
    await written.save()
    await notification_event(written).save()
    return written
