"""Channel names: the one place that knows how an outbox row fans out to channels."""

from typing import Any

from models.enums import OutboxKind

LIVE_KINDS = (OutboxKind.MEETING_CHANGED, OutboxKind.NOTIFICATION, OutboxKind.MESSAGE_ADDED)


def meeting(meeting_id: int) -> str:
    return f"meeting:{meeting_id}"


def account_meetings(account_id: int) -> str:
    return f"account:{account_id}:meetings"


def account_notifications(account_id: int) -> str:
    return f"account:{account_id}:notifications"


def conversation(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


def for_entry(kind: OutboxKind, payload: dict[str, Any]) -> list[str]:
    if kind is OutboxKind.MEETING_CHANGED:
        return [meeting(payload["meeting_id"]),
                *(account_meetings(a) for a in payload["account_ids"])]
    if kind is OutboxKind.NOTIFICATION:
        return [account_notifications(payload["recipient_id"])]
    if kind is OutboxKind.MESSAGE_ADDED:
        return [conversation(payload["conversation_id"])]
    return []
