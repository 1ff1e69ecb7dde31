"""Rows carried by live events, so that delivering an event reads nothing from the database.

The relay attaches each notification's row to its event when it publishes (one query per
batch of outbox rows); every subscriber then builds its answer from the event. Without the
row (an event published by an older process) the subscriber reads it as before.
"""

from datetime import datetime
from typing import Any

from models.enums import NotificationKind, OutboxKind
from models.notifications import Notification

NOTIFICATION = "notification"  # the event's key for the row
_FIELDS = ("id", "recipient_id", "kind", "title", "body", "meeting_id", "created_at",
           "read_at")


def _plain(value: Any) -> Any:
    # The same JSON-able shape on both buses (Redis serialises, the in-process bus does not).
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, NotificationKind):
        return value.value
    return value


async def attach_notifications(events: list[dict[str, Any]]) -> None:
    wanted = {e["notification_id"]: e for e in events
              if e.get("kind") == OutboxKind.NOTIFICATION.value and NOTIFICATION not in e}
    if not wanted:
        return
    for row in await Notification.filter(id__in=list(wanted)).values(*_FIELDS):
        wanted[row["id"]][NOTIFICATION] = notification_values(row)


def notification_values(row: dict[str, Any]) -> dict[str, Any]:
    """What an event carries of a notification row (its columns, JSON-able)."""
    return {k: _plain(row.get(k)) for k in _FIELDS}


def notification_of(event: dict[str, Any]) -> Notification | None:
    """The notification row the event carries, or None if it carries none. Whose it is is
    for resolvers/access.own_carried_notification to say."""
    if NOTIFICATION not in event:
        return None
    values = dict(event[NOTIFICATION])
    values["kind"] = NotificationKind(values["kind"])
    for key in ("created_at", "read_at"):
        if isinstance(values.get(key), str):
            values[key] = datetime.fromisoformat(values[key])
    return Notification(**values)
