"""Hands committed outbox rows of the live kinds to the bus, and marks them delivered.

Woken at once after a mutation commits (`poke`), and on a short timer for rows that other
processes (workers) wrote or that a crash or a Redis outage left behind. On PostgreSQL rows
are claimed with FOR UPDATE SKIP LOCKED, so several server processes never publish one row
twice; a publish that fails rolls the claim back and the row is tried again.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

from tortoise.transactions import in_transaction

from core import clock
from models.outbox import OutboxEntry
from subscriptions import carried, channels
from subscriptions.bus import Bus

log = logging.getLogger("meetings.relay")
BATCH = 200
# A backlog (rows left by an outage, or by a burst) goes out a batch at a time with this pause
# in between, not all at once: subscribers keep up instead of overflowing their queues.
BACKLOG_PAUSE_SECONDS = 0.05
DELIVERY_TIMEOUT_SECONDS = 10.0


class Relay:
    def __init__(self, bus: Bus, *, interval: float = 0.5, lock_rows: bool = True) -> None:
        self.bus = bus
        self.interval = interval
        self.lock_rows = lock_rows
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Also woken after a mutation commits (the conference jobs' hand-off).
        self.followers: list[Callable[[], None]] = []

    def poke(self) -> None:
        self._wake.set()
        for follower in self.followers:
            follower()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Cancels the loop; bounded: a task that ignores its cancellation is abandoned."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=timeout)

    async def _run(self) -> None:
        delay = self.interval
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            try:
                while True:
                    # Bounded: a connection wedged by a database restart must not stop the
                    # relay for good (cancelled, its connection is dropped by the pool).
                    delivered = await asyncio.wait_for(self.deliver_pending(),
                                                       timeout=DELIVERY_TIMEOUT_SECONDS)
                    if delivered < BATCH:
                        break
                    await asyncio.sleep(BACKLOG_PAUSE_SECONDS)
                delay = self.interval
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried with backoff
                log.warning("outbox delivery failed (%s); retrying", exc)
                delay = min(delay * 2, 5.0)

    async def deliver_pending(self) -> int:
        # Until our own pub/sub listener is (re)connected, a publish could miss this
        # process's subscribers: the rows wait.
        await asyncio.wait_for(self.bus.wait_ready(), timeout=self.interval * 4)
        async with in_transaction():
            query = OutboxEntry.filter(delivered_at__isnull=True,
                                       kind__in=channels.LIVE_KINDS).order_by("id").limit(BATCH)
            if self.lock_rows:
                query = query.select_for_update(skip_locked=True)
            rows = await query
            events = [{"id": row.id, "kind": row.kind.value, **row.payload} for row in rows]
            await carried.attach_notifications(events)
            await self.bus.publish_many([
                (channel, event)
                for row, event in zip(rows, events, strict=True)
                for channel in channels.for_entry(row.kind, row.payload)
            ])
            if rows:
                await OutboxEntry.filter(id__in=[r.id for r in rows]).update(
                    delivered_at=clock.now())
        return len(rows)


_relay: Relay | None = None


def get_relay() -> Relay | None:
    return _relay


def use_relay(relay: Relay | None) -> None:
    global _relay
    _relay = relay
