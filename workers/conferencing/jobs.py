"""One conference job (SPEC §4 S5, S6): create, move or delete a meeting's conference.

Each attempt is its own transaction holding the meeting's row lock, and re-checks the
meeting, so a job delivered twice, late or out of order does the right thing once.
Transient provider errors are retried with exponential backoff (outside the transaction, so
the lock is not held while waiting); when the attempts run out, the meeting's conference is
marked FAILED, the timeline says so and both parties are told.
"""

import asyncio
import logging
from typing import Literal

from tortoise.transactions import in_transaction

from core import clock
from core.metrics import job_done
from core.settings import Settings, get_settings
from models.accounts import Account
from models.enums import (
    ConferenceStatus,
    MeetingStatus,
    NotificationKind,
    TimelineEventKind,
)
from models.lifecycle import LABELS
from models.meetings import Meeting, TimelineEvent
from models.texts import render
from resolvers.outbox import meeting_changed, notify
from workers.conferencing import (
    Conference,
    PermanentError,
    Provider,
    ProviderError,
    TransientError,
    Window,
    get_provider,
)

log = logging.getLogger(__name__)

Op = Literal["create_or_move", "delete"]
Outcome = Literal["created", "moved", "unchanged", "deleted", "skipped", "failed", "gone"]


def window_of(meeting: Meeting) -> Window:
    return Window(meeting.id, meeting.starts_at, meeting.ends_at, f"Meeting #{meeting.id}")


async def _changed(meeting: Meeting, kind: TimelineEventKind | None) -> None:
    """Version + 1, an optional timeline event and the live event, as resolvers do."""
    event = None
    if kind is not None:
        event = await TimelineEvent.create(meeting_id=meeting.id, kind=kind, label=LABELS[kind],
                                           at=clock.now(), actor=None,
                                           starts_at=meeting.starts_at)
    meeting.version += 1
    await meeting.save()
    await meeting_changed(meeting, event.id if event else None)


async def _create_or_move(meeting: Meeting, provider: Provider) -> Outcome:
    if meeting.status is not MeetingStatus.AGREED or meeting.conference_status in (
            ConferenceStatus.CANCELLED, ConferenceStatus.FAILED):
        # No longer agreed (a delete job follows, or already ran), or already given up on
        # (a new date or agreement sets it PENDING again).
        return "skipped"
    window = window_of(meeting)
    if meeting.conference_external_id:
        moved: Conference | None = await provider.move(meeting.conference_external_id, window)
        url = moved.join_url if moved else meeting.conference_join_url
        if url == meeting.conference_join_url and (
                meeting.conference_status is ConferenceStatus.CREATED):
            return "unchanged"
        meeting.conference_join_url = url
        meeting.conference_status = ConferenceStatus.CREATED
        await _changed(meeting, None)
        return "moved"
    created = await provider.create(window)
    meeting.conference_join_url = created.join_url
    meeting.conference_external_id = created.external_id
    meeting.conference_provider = provider.name
    meeting.conference_status = ConferenceStatus.CREATED
    await _changed(meeting, TimelineEventKind.CONFERENCE_CREATED)
    return "created"


async def _delete(meeting: Meeting, provider: Provider) -> Outcome:
    if meeting.conference_status is not ConferenceStatus.CANCELLED:
        return "skipped"  # agreed again since: the conference lives on
    if not meeting.conference_external_id:
        return "skipped"  # never created on the provider
    await provider.delete(meeting.conference_external_id)
    meeting.conference_external_id = None
    meeting.conference_join_url = None
    await _changed(meeting, TimelineEventKind.CONFERENCE_CANCELLED)
    return "deleted"


async def _attempt(meeting_id: int, op: Op, settings: Settings) -> Outcome:
    async with in_transaction():
        meeting = await Meeting.select_for_update().get_or_none(id=meeting_id)
        if meeting is None:
            return "gone"
        provider = get_provider(meeting.conference_provider, settings)
        if op == "delete":
            return await _delete(meeting, provider)
        return await _create_or_move(meeting, provider)


async def _give_up(meeting_id: int, op: Op, error: ProviderError) -> Outcome:
    log.error("conference %s for meeting %s failed: %s", op, meeting_id, error)
    if op == "delete":
        return "failed"  # the meeting is over for the parties; nothing to tell them
    async with in_transaction():
        meeting = await Meeting.select_for_update().get_or_none(id=meeting_id)
        if meeting is None or meeting.status is not MeetingStatus.AGREED or (
                meeting.conference_status not in (ConferenceStatus.PENDING,
                                                  ConferenceStatus.CREATED)):
            return "skipped"
        meeting.conference_status = ConferenceStatus.FAILED
        await _changed(meeting, TimelineEventKind.CONFERENCE_FAILED)
        accounts = {a.id: a for a in await Account.filter(
            id__in=[meeting.user_id, meeting.expert_id])}
        for recipient_id, other_id in ((meeting.user_id, meeting.expert_id),
                                       (meeting.expert_id, meeting.user_id)):
            recipient, other = accounts[recipient_id], accounts[other_id]
            title, body = render(NotificationKind.CONFERENCE_FAILED, other=other.display_name,
                                 when=meeting.starts_at, timezone=recipient.timezone)
            await notify(recipient.id, NotificationKind.CONFERENCE_FAILED, title, body,
                         meeting.id)
    return "failed"


async def run_conference_job(meeting_id: int, op: Op,
                             settings: Settings | None = None) -> Outcome:
    outcome = await _run_conference_job(meeting_id, op, settings or get_settings())
    job_done("conference_job", outcome)
    return outcome


async def _run_conference_job(meeting_id: int, op: Op, settings: Settings) -> Outcome:
    attempts = max(settings.conference_attempts, 1)
    for attempt in range(attempts):
        try:
            return await _attempt(meeting_id, op, settings)
        except TransientError as exc:
            error: ProviderError = exc
            log.warning("conference %s for meeting %s, attempt %d: %s", op, meeting_id,
                        attempt + 1, exc)
            if attempt + 1 < attempts:
                await asyncio.sleep(settings.conference_backoff_seconds * 2 ** attempt)
        except PermanentError as exc:
            error = exc
            break
    return await _give_up(meeting_id, op, error)
