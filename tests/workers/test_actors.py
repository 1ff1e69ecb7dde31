"""The actors under Dramatiq's `StubBroker` and a real `dramatiq.Worker` (its threads run the
async actors on this test's event loop, where the ORM is open): no Redis needed. The same
jobs against a real Redis and a worker process: `test_redis_worker.py`."""

import asyncio
import logging
from collections.abc import AsyncIterator

import dramatiq
import httpx
import pytest
from dramatiq.asyncio import EventLoopThread, set_event_loop_thread
from dramatiq.brokers.stub import StubBroker

from core.clock import FrozenClock
from models.enums import ConferenceStatus, OutboxKind, TimelineEventKind
from models.meetings import Meeting
from models.outbox import OutboxEntry
from tests.support.client import at
from tests.support.clock import T0
from tests.support.peers import FakeZoom
from tests.support.workers import agreed, events, owed_jobs
from workers import broker as brokers
from workers.conferencing.relay import relay_conference_jobs


class _ThisLoop(EventLoopThread):
    """Dramatiq's event loop thread, pointed at the running loop instead of its own."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.getLogger("dramatiq.test"))
        self.loop.close()
        self.loop = loop


@pytest.fixture
async def stub() -> AsyncIterator[StubBroker]:
    broker = StubBroker()
    brokers.use_broker(broker)
    set_event_loop_thread(_ThisLoop(asyncio.get_running_loop()))
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()
    try:
        yield broker
    finally:
        await asyncio.to_thread(worker.stop)
        set_event_loop_thread(None)
        brokers.reset()


async def _join(broker: StubBroker) -> None:
    await asyncio.to_thread(broker.join, brokers.QUEUE, timeout=10_000)


async def test_handed_on_run_once_and_closed(client: httpx.AsyncClient, frozen: FrozenClock,
                                             stub: StubBroker) -> None:
    _, mid = await agreed(client, at(T0, days=2))
    [entry] = await owed_jobs(mid)
    assert await relay_conference_jobs() >= 1  # through the stub: enqueued, still owed
    await _join(stub)
    assert (await Meeting.get(id=mid)).conference_status is ConferenceStatus.CREATED
    assert (await OutboxEntry.get(id=entry.id)).delivered_at is not None
    # The same message delivered twice more: nothing happens again.
    for _ in range(2):
        stub.enqueue(brokers.message_for(OutboxKind.CONFERENCE, entry.id))
    await _join(stub)
    assert (await events(mid)).count(TimelineEventKind.CONFERENCE_CREATED) == 1


async def test_one_retry_layer(client: httpx.AsyncClient, frozen: FrozenClock,
                               fake_zoom: FakeZoom, stub: StubBroker) -> None:
    """A transient failure is not retried by Dramatiq: it is recorded on the job's row,
    which the hand-off hands on again once its backoff has passed."""
    _, mid = await agreed(client, at(T0, days=2))
    [entry] = await owed_jobs(mid)
    fake_zoom.failures = 1
    assert await relay_conference_jobs() >= 1
    await _join(stub)
    assert len(fake_zoom.requests) == 1  # one attempt, no redelivery by Dramatiq
    failed = await OutboxEntry.get(id=entry.id)
    assert failed.attempts == 1 and failed.delivered_at is None
    assert failed.retry_at is not None
    frozen.set(failed.retry_at)
    assert await relay_conference_jobs() >= 1
    await _join(stub)
    assert len(fake_zoom.requests) == 2
    assert (await Meeting.get(id=mid)).conference_status is ConferenceStatus.CREATED
    assert (await OutboxEntry.get(id=entry.id)).delivered_at is not None
