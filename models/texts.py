"""Notification texts, rendered in the recipient's time zone (SPEC §5)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from models.enums import NotificationKind

N = NotificationKind

TITLES: dict[NotificationKind, str] = {
    N.MEETING_REQUESTED: "New meeting request",
    N.EXPERT_MEETING_INVITATION: "Expert meeting invitation",
    N.MEETING_CONFIRMED: "Meeting confirmed",
    N.MEETING_DECLINED: "Meeting declined",
    N.MEETING_CANCELLED: "Meeting cancelled",
    N.RESCHEDULED_REJECTED_BY_EXPERT: "New date proposed for a declined meeting",
    N.RESCHEDULED_AGREED_BY_EXPERT: "Expert proposes a new date",
    N.ALTERNATIVE_DATE_PROPOSED: "Alternative date proposed",
    N.ALTERNATIVE_DATE_CONFIRMED: "Alternative date confirmed",
    N.ALTERNATIVE_DATE_REJECTED: "Alternative date rejected",
    N.MEETING_REMINDER: "Meeting reminder",
    N.MEETING_LINK: "Meeting link",
    N.CONFERENCE_FAILED: "Video conference could not be created",
    N.MEETING_EXPIRED: "Meeting expired",
    N.NEW_MESSAGE: "New message",
}

BODIES: dict[NotificationKind, str] = {
    N.MEETING_REQUESTED: "{other} requests a meeting on {when}.",
    N.EXPERT_MEETING_INVITATION: "{other} invites you to a meeting on {when}.",
    N.MEETING_CONFIRMED: "{other} confirmed the meeting on {when}.",
    N.MEETING_DECLINED: "{other} declined the meeting on {when}.",
    N.MEETING_CANCELLED: "{other} cancelled the meeting on {when}.",
    N.RESCHEDULED_REJECTED_BY_EXPERT: "{other} proposes {when} for the declined meeting.",
    N.RESCHEDULED_AGREED_BY_EXPERT: "{other} proposes to move the meeting to {when}.",
    N.ALTERNATIVE_DATE_PROPOSED: "{other} proposes to move the meeting to {when}.",
    N.ALTERNATIVE_DATE_CONFIRMED: "{other} confirmed the new date: {when}.",
    N.ALTERNATIVE_DATE_REJECTED: "{other} rejected the alternative date; the meeting is on {when}.",
    N.MEETING_REMINDER: "Your meeting with {other} starts on {when}.",
    N.MEETING_LINK: "Your meeting with {other} starts on {when}. Join: {join_url}",
    N.CONFERENCE_FAILED: "The video conference for the meeting on {when} could not be created.",
    N.MEETING_EXPIRED: "The meeting on {when} expired without an answer.",
    N.NEW_MESSAGE: "{other}: {text}",
}


def local_time(at: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return at.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")


def render(
    kind: NotificationKind,
    *,
    other: str,
    when: datetime | None,
    timezone: str,
    join_url: str | None = None,
    text: str = "",
    cancelled_by_expert: bool = False,
) -> tuple[str, str]:
    title = TITLES[kind]
    if kind is N.MEETING_CANCELLED and cancelled_by_expert:
        title = "Cancellation of meeting by expert"  # the customer's words
    body = BODIES[kind].format(
        other=other,
        when=local_time(when, timezone) if when else "",
        join_url=join_url or "",
        text=text,
    )
    return title, body
