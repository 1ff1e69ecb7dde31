"""The iCalendar identity of a meeting (its `CalendarInvite`): one UID for its life, and the
SEQUENCE of the version last published by e-mail or in a feed. Both channels go through here,
so a calendar that learnt the meeting from either sees one event, replaced in order."""

from email.utils import parseaddr

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.deliveries import CalendarInvite
from models.meetings import Meeting


def domain_of(sender: str) -> str:
    """The domain of the UIDs: the sender address's (SMTP_FROM), as e-mail invites had it."""
    return (parseaddr(sender)[1] or "no-reply@meetings.local").split("@")[-1]


def uid_for(meeting_id: int, domain: str) -> str:
    return f"meeting-{meeting_id}@{domain}"


def outdated(invite: CalendarInvite | None, meeting: Meeting, cancelled: bool) -> bool:
    """Whether publishing the meeting now (called off or not) needs a new SEQUENCE or a row."""
    if invite is None:
        return True
    if cancelled:
        return not invite.cancelled
    return invite.cancelled or invite.starts_at != meeting.starts_at or (
        invite.length_minutes != meeting.length_minutes)


async def publish(meeting: Meeting, *, cancelled: bool, domain: str) -> CalendarInvite | None:
    """The invite to publish the meeting with, brought up to date under its row lock.

    A cancellation of a meeting never published has nothing to call off: None."""
    for _ in range(2):  # a concurrent first publication wins the unique row: read it again
        try:
            async with in_transaction():
                invite = await CalendarInvite.filter(
                    meeting_id=meeting.id).select_for_update().first()
                if invite is None:
                    if cancelled:
                        return None
                    return await CalendarInvite.create(
                        meeting_id=meeting.id, uid=uid_for(meeting.id, domain), sequence=0,
                        starts_at=meeting.starts_at, length_minutes=meeting.length_minutes)
                if outdated(invite, meeting, cancelled):
                    invite.sequence += 1
                    invite.cancelled = cancelled
                    if not cancelled:
                        invite.starts_at = meeting.starts_at
                        invite.length_minutes = meeting.length_minutes
                    await invite.save()
                return invite
        except IntegrityError:
            continue
    raise RuntimeError(f"calendar invite of meeting {meeting.id}: concurrent writers")
