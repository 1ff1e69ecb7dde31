"""`meetings worker` as a process of its own (with the Redis broker when Redis is up, else its
in-process sweeps) refreshes a due busy calendar from the local calendar server."""

import asyncio
import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models.accounts import Account
from models.calendars import BusyCalendar, BusyInterval
from tests.support.calendars import CalendarServer
from tests.support.shared_redis import REDIS_URL, drop_namespace, redis_up
from tests.support.workers import stop_worker

ROOT = Path(__file__).resolve().parents[2]


def _event(start: datetime) -> bytes:
    stamp = "%Y%m%dT%H%M%SZ"
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fixtures//worker//EN\r\n"
            "BEGIN:VEVENT\r\nUID:worker@fixtures\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART:{start:{stamp}}\r\nDTEND:{start + timedelta(hours=1):{stamp}}\r\n"
            "SUMMARY:Busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


@pytest.mark.parametrize("broker", ["redis", "none"])
async def test_the_worker_process_refreshes_due_calendars(
        orm: str, calendar_server: CalendarServer, broker: str) -> None:
    if broker == "redis" and not redis_up():
        pytest.skip("needs Redis at " + REDIS_URL)
    # The worker runs on the real clock: the calendar is due now, its event two days ahead.
    now = datetime.now(UTC)
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    calendar_server.files["/worker.ics"] = _event(start)
    expert = await Account.create(key=f"t-{uuid.uuid4().hex[:10]}", display_name="Worker",
                                  created_at=now)
    calendar = await BusyCalendar.create(
        expert_id=expert.id, name="Work", url=calendar_server.url("/worker.ics"),
        next_fetch_at=now - timedelta(minutes=1), created_at=now)
    environment = {**os.environ, "DATABASE_URL": orm, "WORKER_INTERVAL_SECONDS": "0.2"}
    namespace = f"meetings-test-{uuid.uuid4().hex[:8]}"
    if broker == "redis":
        environment.update(REDIS_URL=REDIS_URL, DRAMATIQ_NAMESPACE=namespace)
    else:
        environment.pop("REDIS_URL", None)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "worker", "--threads", "1", cwd=ROOT,
        env=environment, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        for _ in range(300):
            fresh = await BusyCalendar.get(id=calendar.id)
            if fresh.last_fetched_at is not None or worker.returncode is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        output = await stop_worker(worker)
        if broker == "redis":
            drop_namespace(namespace)
    assert worker.returncode == 0, output
    assert fresh.last_fetched_at is not None and fresh.last_error is None, output
    assert fresh.next_fetch_at > now
    assert [(i.starts_at, i.ends_at) for i in await BusyInterval.filter(
        calendar_id=calendar.id)] == [(start, start + timedelta(hours=1))]
    assert calendar_server.count("/worker.ics", 200) == 1
