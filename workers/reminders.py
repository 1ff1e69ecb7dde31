"""Due reminders (SPEC §4 S3, S4): the user's reminder and the expert's meeting link.

Each reminder row is sent at most once: the sweep locks the meeting (skipping one another
worker holds) and then the reminder row, and re-checks under those locks that the row is
unsent, the meeting still AGREED at the reminder's date, and not yet started. A reminder
whose moment had already passed when the meeting was agreed is simply due at once.
"""

import logging
from datetime import timedelta
from typing import cast

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import clock
from core.metrics import job_done
from core.settings import get_settings
from models.accounts import Account
from models.enums import (
    ConferenceStatus,
    MeetingStatus,
    NotificationKind,
    ReminderKind,
)
from models.enums import TimelineEventKind as K
from models.lifecycle import LABELS
from models.meetings import Meeting, Reminder, TimelineEvent
from models.texts import render
from resolvers.outbox import meeting_changed, notify
from workers.conferencing import Conference, get_provider
from workers.conferencing.jobs import window_of

log = logging.getLogger(__name__)

# Claimed and held per transaction; small, so a participant waiting on one of its meetings
# waits briefly.
CLAIM = 50
EVENTS = {ReminderKind.REMINDER: K.REMINDER_SENT, ReminderKind.LINK: K.LINK_SENT}


def _join_url(meeting: Meeting) -> str | None:
    if not (meeting.conference_join_url and meeting.conference_external_id):
        return meeting.conference_join_url
    provider = get_provider(meeting.conference_provider, get_settings())
    return provider.host_url(
        Conference(meeting.conference_join_url, meeting.conference_external_id),
        window_of(meeting))


# Past this, the link message goes out without a link rather than not at all.
LINK_WAIT_LIMIT = timedelta(minutes=10)


async def _send(reminder: Reminder, meeting: Meeting) -> None:
    now = clock.now()
    reminder.sent_at = now
    await reminder.save(update_fields=["sent_at"])
    kind = EVENTS[reminder.kind]
    event = await TimelineEvent.create(meeting_id=meeting.id, kind=kind, label=LABELS[kind],
                                       at=now, actor=None, starts_at=meeting.starts_at)
    if reminder.kind is ReminderKind.REMINDER:
        recipient_id, other_id, note = meeting.user_id, meeting.expert_id, (
            NotificationKind.MEETING_REMINDER)
    else:
        recipient_id, other_id, note = meeting.expert_id, meeting.user_id, (
            NotificationKind.MEETING_LINK)
    accounts = {a.id: a for a in await Account.filter(id__in=[recipient_id, other_id])}
    recipient, other = accounts[recipient_id], accounts[other_id]
    title, body = render(note, other=other.display_name, when=meeting.starts_at,
                         timezone=recipient.timezone,
                         join_url=_join_url(meeting) or "(the link follows as soon as it exists)")
    await notify(recipient.id, note, title, body, meeting.id)
    meeting.version += 1
    await meeting.save()
    await meeting_changed(meeting, event.id)


async def _one(reminder_id: int, meeting_id: int) -> bool:
    async with in_transaction():
        # Meeting first, as participant actions do (they delete unsent reminders under it).
        meeting = await Meeting.filter(id=meeting_id).select_for_update(
            skip_locked=True).first()
        if meeting is None:
            return False  # another worker, or a participant, holds it: the next sweep
        reminder = await Reminder.filter(id=reminder_id, sent_at__isnull=True).select_for_update(
            skip_locked=True).first()
        now = clock.now()
        if reminder is None or reminder.due_at > now:
            return False
        if meeting.status is not MeetingStatus.AGREED or meeting.starts_at <= now:
            return False
        if meeting.starts_at != reminder.starts_at:
            await reminder.delete()  # planned for a date that no longer holds
            return False
        if (reminder.kind is ReminderKind.LINK
                and meeting.conference_status is ConferenceStatus.PENDING
                and meeting.starts_at - now > LINK_WAIT_LIMIT):
            return False  # the link message should carry the link: wait for the conference
        await _send(reminder, meeting)
        return True


async def send_due_reminders() -> int:
    """Sends every reminder that is due. Workers split the work: each claims a batch with
    FOR UPDATE SKIP LOCKED (reminder and meeting rows) and holds it while sending, so a
    second worker takes the next batch instead of walking the same rows."""
    sent = 0
    while True:
        claimed, sent_now = await _claim_and_send()
        sent += sent_now
        if claimed < CLAIM or sent_now == 0:
            return sent


async def _claim_and_send() -> tuple[int, int]:
    sent = 0
    async with in_transaction():
        now = clock.now()
        # A link waiting for its conference is not claimed: it must not take the place of
        # reminders that can go out (a batch of waiting rows would end the sweep).
        waiting = Q(kind=ReminderKind.LINK, meeting__conference_status=ConferenceStatus.PENDING,
                    meeting__starts_at__gt=now + LINK_WAIT_LIMIT)
        due = await Reminder.filter(
            sent_at__isnull=True, due_at__lte=now,
            meeting__status=MeetingStatus.AGREED, meeting__starts_at__gt=now,
        ).exclude(waiting).order_by("due_at").limit(CLAIM).select_for_update(skip_locked=True).values_list(
            "id", "meeting_id")
        for reminder_id, meeting_id in cast(list[tuple[int, int]], due):
            # Each in a savepoint: one reminder's failure does not undo the batch.
            if await _one(reminder_id, meeting_id):
                sent += 1
                job_done("reminder", "sent")
    return len(due), sent
