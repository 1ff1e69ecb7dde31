"""One conference job (SPEC §4 S5, S6): create, move or delete a meeting's conference.

A job is done when its effect is recorded: the attempt's transaction holds the meeting's row
lock, re-checks the meeting (so a job delivered twice, late or out of order does the right
thing once) and marks the job's outbox row delivered together with the conference change.
There is one retry layer, the outbox row: a transient provider error records the attempt and
a backoff (`retry_at`) on the row, and the hand-off (`workers.conferencing.relay`) hands the
row on again when it falls due; when the attempts run out, the meeting's conference is marked
FAILED, the timeline says so and both parties are told — in the transaction that closes the
row. A job that dies half-way (a crash, a database outage, a lost broker message) leaves its
row owed, and the hand-off hands it on again past its deadline. What each outcome records is a
row of the lifecycle table (S5, S6), applied by `resolvers.system.record`.
"""

import logging
from datetime import timedelta
from typing import Literal

from tortoise.transactions import in_transaction

from core import clock
from core.metrics import job_done
from core.settings import Settings, get_settings
from models.enums import ConferenceStatus
from models.lifecycle import SystemAction, state_of, system_applies
from models.meetings import Meeting
from models.outbox import OutboxEntry
from resolvers import system
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
Outcome = Literal["created", "moved", "unchanged", "deleted", "skipped", "failed", "gone",
                  "retry", "done_before"]


def window_of(meeting: Meeting) -> Window:
    return Window(meeting.id, meeting.starts_at, meeting.ends_at, f"Meeting #{meeting.id}")


async def _create_or_move(meeting: Meeting, provider: Provider) -> Outcome:
    external_id = meeting.conference_external_id
    action = SystemAction.MOVE_CONFERENCE if external_id else SystemAction.CREATE_CONFERENCE
    if not system_applies(action, state_of(meeting)):
        # No longer agreed (a delete job follows, or already ran), or already given up on
        # (a new date or agreement sets it PENDING again).
        return "skipped"
    window = window_of(meeting)
    if external_id:
        moved: Conference | None = await provider.move(external_id, window)
        url = moved.join_url if moved else meeting.conference_join_url
        if url == meeting.conference_join_url and (
                meeting.conference_status is ConferenceStatus.CREATED):
            return "unchanged"
        await system.record(meeting, action, assign={"conference_join_url": url})
        return "moved"
    created = await provider.create(window)
    await system.record(meeting, action, assign={
        "conference_join_url": created.join_url, "conference_external_id": created.external_id,
        "conference_provider": provider.name})
    return "created"


async def _delete(meeting: Meeting, provider: Provider) -> Outcome:
    if not system_applies(SystemAction.DELETE_CONFERENCE, state_of(meeting)):
        return "skipped"  # agreed again since: the conference lives on
    if not meeting.conference_external_id:
        return "skipped"  # never created on the provider
    await provider.delete(meeting.conference_external_id)
    await system.record(meeting, SystemAction.DELETE_CONFERENCE, assign={
        "conference_external_id": None, "conference_join_url": None})
    return "deleted"


class _DoneBefore(Exception):
    """The job's row was closed by an earlier delivery of the same job."""


async def _owed_entry(entry_id: int | None) -> OutboxEntry | None:
    """The job's outbox row, locked (None for a bare attempt)."""
    if entry_id is None:
        return None
    entry = await OutboxEntry.select_for_update().get_or_none(id=entry_id)
    if entry is None or entry.delivered_at is not None:
        raise _DoneBefore
    return entry


async def _done(entry: OutboxEntry | None) -> None:
    if entry is not None:
        await OutboxEntry.filter(id=entry.id).update(delivered_at=clock.now(),
                                                     attempts=entry.attempts + 1)


async def _attempt(meeting_id: int, op: Op, settings: Settings,
                   entry_id: int | None) -> Outcome:
    async with in_transaction():
        entry = await _owed_entry(entry_id)
        meeting = await Meeting.select_for_update().get_or_none(id=meeting_id)
        if meeting is None:
            outcome: Outcome = "gone"
        else:
            provider = get_provider(meeting.conference_provider, settings)
            outcome = await (_delete(meeting, provider) if op == "delete"
                             else _create_or_move(meeting, provider))
        await _done(entry)
        return outcome


async def _retry_later(meeting_id: int, op: Op, error: TransientError, settings: Settings,
                       entry_id: int | None) -> Outcome:
    """Records a failed attempt on the job's row and when to try again; gives up when the
    attempts have run out. A call without a row (by hand) just reports "retry"."""
    log.warning("conference %s for meeting %s: %s", op, meeting_id, error)
    if entry_id is None:
        return "retry"
    async with in_transaction():
        entry = await _owed_entry(entry_id)
        assert entry is not None
        attempts = entry.attempts + 1
        if attempts < max(settings.conference_attempts, 1):
            delay = settings.conference_backoff_seconds * 2 ** (attempts - 1)
            await OutboxEntry.filter(id=entry.id).update(
                attempts=attempts, retry_at=clock.now() + timedelta(seconds=delay))
            return "retry"
    return await _give_up(meeting_id, op, error, entry_id)


async def _give_up(meeting_id: int, op: Op, error: ProviderError,
                   entry_id: int | None) -> Outcome:
    log.error("conference %s for meeting %s failed: %s", op, meeting_id, error)
    async with in_transaction():
        entry = await _owed_entry(entry_id)
        await _done(entry)
        if op == "delete":
            return "failed"  # the meeting is over for the parties; nothing to tell them
        meeting = await Meeting.select_for_update().get_or_none(id=meeting_id)
        if meeting is None or not await system.record(meeting, SystemAction.FAIL_CONFERENCE):
            return "skipped"
    return "failed"


async def run_conference_job(meeting_id: int, op: Op, settings: Settings | None = None, *,
                             entry_id: int | None = None) -> Outcome:
    """One attempt of the job of outbox row `entry_id` (or, without one, a bare attempt)."""
    settings = settings or get_settings()
    try:
        try:
            outcome = await _attempt(meeting_id, op, settings, entry_id)
        except TransientError as exc:
            outcome = await _retry_later(meeting_id, op, exc, settings, entry_id)
        except PermanentError as exc:
            outcome = await _give_up(meeting_id, op, exc, entry_id)
    except _DoneBefore:
        outcome = "done_before"
    job_done("conference_job", outcome)
    return outcome


async def run_entry(entry_id: int, settings: Settings | None = None) -> Outcome:
    """The job an outbox row of kind CONFERENCE owes (what the broker's message names)."""
    entry = await OutboxEntry.get_or_none(id=entry_id)
    if entry is None or entry.delivered_at is not None:
        job_done("conference_job", "done_before")
        return "done_before"
    op = entry.payload["op"]
    assert op in ("create_or_move", "delete"), op
    return await run_conference_job(int(entry.payload["meeting_id"]), op, settings,
                                    entry_id=entry_id)
