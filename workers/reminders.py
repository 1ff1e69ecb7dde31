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
from models import lifecycle
from models.enums import ConferenceStatus, MeetingStatus, ReminderKind
from models.lifecycle import SystemAction
from models.meetings import Meeting, Reminder
from resolvers import system
from workers.conferencing import Conference, get_provider
from workers.conferencing.jobs import window_of

log = logging.getLogger(__name__)

# Claimed and held per transaction; small, so a participant waiting on one of its meetings
# waits briefly.
CLAIM = 50
ACTIONS = {ReminderKind.REMINDER: SystemAction.SEND_REMINDER,
           ReminderKind.LINK: SystemAction.SEND_LINK}


def _join_url(meeting: Meeting) -> str | None:
    if not (meeting.conference_join_url and meeting.conference_external_id):
        return meeting.conference_join_url
    provider = get_provider(meeting.conference_provider, get_settings())
    return provider.host_url(
        Conference(meeting.conference_join_url, meeting.conference_external_id),
        window_of(meeting))


# Past this, the link message goes out without a link rather than not at all.
LINK_WAIT_LIMIT = timedelta(minutes=10)


async def _send(reminder: Reminder, meeting: Meeting) -> bool:
    """S3 / S4, as the lifecycle table records them; the reminder row is marked sent."""
    join_url = None
    if reminder.kind is ReminderKind.LINK:
        join_url = _join_url(meeting) or "(the link follows as soon as it exists)"
    if not await system.record(meeting, ACTIONS[reminder.kind], join_url=join_url):
        return False
    reminder.sent_at = clock.now()
    await reminder.save(update_fields=["sent_at"])
    return True


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
        if lifecycle.has_started(meeting.starts_at, now):
            return False
        if meeting.starts_at != reminder.starts_at:
            await reminder.delete()  # planned for a date that no longer holds
            return False
        if (reminder.kind is ReminderKind.LINK
                and meeting.conference_status is ConferenceStatus.PENDING
                and meeting.starts_at - now > LINK_WAIT_LIMIT):
            return False  # the link message should carry the link: wait for the conference
        return await _send(reminder, meeting)


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
