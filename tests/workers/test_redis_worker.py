"""`meetings worker` with the Redis broker: the relay enqueues conference jobs on a real Redis,
and a real worker process consumes them (Dramatiq, AsyncIO actors, Tortoise on boot)."""

import asyncio
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import redis

from core.clock import FrozenClock
from core.settings import get_settings
from models.enums import ConferenceStatus, OutboxKind, TimelineEventKind
from models.meetings import Meeting
from models.outbox import OutboxEntry
from tests.support.client import at
from tests.support.clock import T0
from tests.support.shared_redis import REDIS_URL, drop_namespace, redis_up
from tests.support.workers import agreed, events, owed_jobs, stop_worker
from workers import broker as brokers
from workers.conferencing.relay import relay_conference_jobs

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.skipif(not redis_up(), reason="needs Redis at " + REDIS_URL)


@pytest.fixture
def namespace(env: Callable[..., None]) -> Iterator[str]:
    name = f"meetings-test-{uuid.uuid4().hex[:8]}"
    env(redis_url=REDIS_URL, dramatiq_namespace=name)
    brokers.reset()
    yield name
    brokers.reset()
    drop_namespace(name)


async def _start_worker(orm: str, namespace: str) -> asyncio.subprocess.Process:
    environment = {**os.environ, "DATABASE_URL": orm, "REDIS_URL": REDIS_URL,
                   "DRAMATIQ_NAMESPACE": namespace, "WORKER_INTERVAL_SECONDS": "0.2",
                   "CONFERENCE_PROVIDER": "jitsi"}
    environment.pop("SMTP_URL", None)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "worker", "--threads", "2", cwd=ROOT,
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


async def _stop_worker(worker: asyncio.subprocess.Process) -> str:
    output = await stop_worker(worker)
    assert worker.returncode == 0, output
    assert "consuming" in output
    return output


async def _wait_created(worker: asyncio.subprocess.Process, mid: int) -> Meeting:
    for _ in range(300):
        meeting = await Meeting.get(id=mid)
        if meeting.conference_status is ConferenceStatus.CREATED:
            return meeting
        assert worker.returncode is None, "the worker ended early"
        await asyncio.sleep(0.1)
    raise AssertionError(f"meeting {mid}: no conference")


async def test_enqueued_on_redis_and_run_by_a_worker_process(
        client: httpx.AsyncClient, frozen: FrozenClock, namespace: str, orm: str) -> None:
    _, mid = await agreed(client, at(T0, days=2))
    [entry] = await owed_jobs(mid)

    assert await relay_conference_jobs() >= 1  # the broker's path: enqueued, still owed
    handed = await OutboxEntry.get(id=entry.id)
    assert handed.delivered_at is None and handed.retry_at is not None
    queued = redis.Redis.from_url(REDIS_URL).llen(f"{namespace}:{brokers.QUEUE}")
    assert queued >= 1
    assert (await Meeting.get(id=mid)).conference_status is ConferenceStatus.PENDING

    worker = await _start_worker(orm, namespace)
    try:
        meeting = await _wait_created(worker, mid)
        assert meeting.conference_join_url
        assert (await events(mid)).count(TimelineEventKind.CONFERENCE_CREATED) == 1
        # Done when its effect is recorded: the job closed its row.
        assert (await OutboxEntry.get(id=entry.id)).delivered_at is not None
    finally:
        await _stop_worker(worker)


async def test_a_job_lost_with_redis_is_handed_on_again(
        client: httpx.AsyncClient, frozen: FrozenClock, namespace: str, orm: str) -> None:
    _, mid = await agreed(client, at(T0, days=2))
    [entry] = await owed_jobs(mid)
    assert await relay_conference_jobs() >= 1
    # Redis loses its data (a restart without persistence): the queued message is gone.
    client_ = redis.Redis.from_url(REDIS_URL)
    client_.delete(*client_.scan_iter(f"{namespace}*"))
    worker = await _start_worker(orm, namespace)
    try:
        await asyncio.sleep(1.0)  # the worker runs, but has nothing to run
        assert (await Meeting.get(id=mid)).conference_status is ConferenceStatus.PENDING
        assert await owed_jobs(mid) != []
        assert await relay_conference_jobs() == 0  # not yet past its deadline
        frozen.advance(timedelta(seconds=get_settings().conference_job_deadline_seconds + 1))
        assert await relay_conference_jobs() >= 1  # the reconciler hands it on again
        await _wait_created(worker, mid)
        assert (await OutboxEntry.get(id=entry.id)).delivered_at is not None
        # Handed on once more (a late duplicate): it runs as "done before", once.
        frozen.advance(timedelta(seconds=get_settings().conference_job_deadline_seconds + 1))
        await asyncio.to_thread(brokers.get_broker().enqueue,  # type: ignore[union-attr]
                                brokers.message_for(OutboxKind.CONFERENCE, entry.id))
        await asyncio.sleep(1.0)
    finally:
        output = await _stop_worker(worker)
    assert f"conference job of outbox row {entry.id}: done_before" in output
    assert (await events(mid)).count(TimelineEventKind.CONFERENCE_CREATED) == 1
