"""The CONFERENCE rows of the outbox, handed on to the conference jobs.

Only rows of kind CONFERENCE are touched; the live-update relay owns the other kinds.
With a broker, rows are claimed with FOR UPDATE SKIP LOCKED (on PostgreSQL), enqueued and
marked delivered in one transaction: a failed enqueue leaves them for the next sweep, and a
message enqueued twice is harmless (jobs are idempotent). Without a broker the job runs here
and its row is marked delivered afterwards, so a crash repeats a job rather than losing it.
"""

import asyncio
import logging
from typing import cast

from tortoise.transactions import in_transaction

from core import clock
from models.enums import OutboxKind
from models.outbox import OutboxEntry
from workers import broker as brokers
from workers.conferencing.jobs import run_conference_job

log = logging.getLogger(__name__)

BATCH = 100


async def _enqueue_batch() -> int:
    job = brokers.actor("conference_job")
    async with in_transaction():
        entries = await OutboxEntry.filter(
            kind=OutboxKind.CONFERENCE, delivered_at__isnull=True
        ).order_by("id").limit(BATCH).select_for_update(skip_locked=True)
        for entry in entries:
            await asyncio.to_thread(job.send, int(entry.payload["meeting_id"]),
                                    str(entry.payload["op"]))
        if entries:
            await OutboxEntry.filter(id__in=[e.id for e in entries]).update(
                delivered_at=clock.now())
    return len(entries)


async def _run_batch() -> int:
    ids = await OutboxEntry.filter(
        kind=OutboxKind.CONFERENCE, delivered_at__isnull=True
    ).order_by("id").limit(BATCH).values_list("id", flat=True)
    done = 0
    for entry_id in cast(list[int], ids):
        entry = await OutboxEntry.get_or_none(id=entry_id, delivered_at__isnull=True)
        if entry is None:
            continue
        await run_conference_job(int(entry.payload["meeting_id"]), entry.payload["op"])
        await OutboxEntry.filter(id=entry_id).update(delivered_at=clock.now())
        done += 1
    return done


async def relay_conference_jobs(*, in_process: bool | None = None) -> int:
    """Hands undelivered CONFERENCE rows on; `in_process` defaults to "no broker"."""
    if in_process is None:
        in_process = brokers.get_broker() is None
    return await (_run_batch() if in_process else _enqueue_batch())
