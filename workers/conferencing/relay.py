"""Handing owed outbox rows to their jobs: the conference jobs (the one kind that goes to the
broker).

A row of such a kind is owed until its job records its effect (`workers.conferencing.jobs`
marks it delivered in the same transaction). It is handed on when it falls due: at once after
the commit that wrote it (`HandOff`, woken by the server's relay), and by every sweep for rows
whose `retry_at` has passed — a backoff after a transient failure, or the deadline of an
earlier hand-on whose message never ran (Redis lost its queue, a worker was killed). That
sweep is the reconciler; a job handed on twice runs once (the second finds its row closed).

With a broker, due rows are claimed with FOR UPDATE SKIP LOCKED (on PostgreSQL), enqueued,
and given a new deadline in one transaction: a failed enqueue leaves them due. Without a
broker the job runs here.
"""

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any, cast

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import clock
from core.settings import get_settings
from models.enums import OutboxKind
from models.outbox import OutboxEntry
from workers import broker as brokers
from workers.conferencing.jobs import run_entry

log = logging.getLogger(__name__)

BATCH = 500
BROKER_KINDS = (OutboxKind.CONFERENCE,)


def _due() -> Any:
    return OutboxEntry.filter(kind__in=BROKER_KINDS, delivered_at__isnull=True).filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=clock.now())).order_by("id").limit(BATCH)


async def _enqueue_batch() -> int:
    broker = brokers.get_broker()
    assert broker is not None
    deadline = timedelta(seconds=get_settings().conference_job_deadline_seconds)
    async with in_transaction():
        entries = await _due().select_for_update(skip_locked=True)
        if not entries:
            return 0
        messages = [brokers.message_for(entry.kind, entry.id) for entry in entries]
        await asyncio.to_thread(lambda: [broker.enqueue(m) for m in messages])
        await OutboxEntry.filter(id__in=[e.id for e in entries]).update(
            retry_at=clock.now() + deadline)
    overdue = sum(1 for e in entries if e.retry_at is not None and e.attempts == 0)
    if overdue:
        log.warning("handed on %d conference job(s) again: not done by their deadline",
                    overdue)
    return len(entries)


async def _run_batch() -> int:
    ids = cast(list[int], await _due().values_list("id", flat=True))
    for entry_id in ids:
        await run_entry(entry_id)
    return len(ids)


async def relay_conference_jobs(*, in_process: bool | None = None) -> int:
    """Hands due rows on once (one batch); `in_process` defaults to "no broker"."""
    if in_process is None:
        in_process = brokers.get_broker() is None
    return await (_run_batch() if in_process else _enqueue_batch())


class HandOff:
    """Hands conference jobs on right after the commit that wrote them, instead of on the
    next sweep. Woken by `poke` (the server's relay passes its post-mutation poke on)."""

    def __init__(self, *, in_process: bool) -> None:
        self.in_process = in_process
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="conference-hand-off")

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        if self._task is None:
            return
        self._task.cancel()
        # Bounded: a task stuck in a driver that swallows its cancellation is abandoned.
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), timeout=timeout)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await asyncio.wait_for(relay_conference_jobs(in_process=self.in_process),
                                             timeout=30) == BATCH:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the sweep hands them on later
                log.warning("conference hand-off failed (%s); the sweep retries", exc)
