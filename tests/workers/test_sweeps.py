"""The periodic sweeps together (SPEC §4 S1, S2) and the embedded loop."""

import asyncio
from collections.abc import Callable
from datetime import timedelta

import httpx

from core.clock import FrozenClock
from models.enums import MeetingStatus, NotificationKind, TimelineEventKind
from models.meetings import Meeting
from tests.support.client import at, market
from tests.support.clock import T0
from tests.support.workers import agreed, events, notes
from workers.embedded import run_embedded
from workers.sweeps import sweep_once

K = TimelineEventKind


async def test_completion_captures_credits(client: httpx.AsyncClient,
                                           frozen: FrozenClock) -> None:
    start = at(T0, days=1)
    m, mid = await agreed(client, start)
    assert await m.user.credits() == {"available": 450, "blocked": 50}
    frozen.set(start + timedelta(minutes=59))
    await sweep_once(in_process=True)
    assert (await Meeting.get(id=mid)).status is MeetingStatus.AGREED
    frozen.set(start + timedelta(hours=1))
    result = await sweep_once(in_process=True)
    assert result["completed"] >= 1 and -1 not in result.values()
    meeting = await Meeting.get(id=mid)
    assert meeting.status is MeetingStatus.COMPLETED
    assert meeting.credit_status.value == "PAID"
    assert (await events(mid))[-1] is K.COMPLETED
    assert await m.user.credits() == {"available": 450, "blocked": 0}
    assert await m.expert.credits() == {"available": 50, "blocked": 0}
    await sweep_once(in_process=True)  # once only
    assert await m.expert.credits() == {"available": 50, "blocked": 0}


async def test_expiry_returns_credits(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    start = at(T0, days=1)
    requested = await m.request(start)
    from schema.scalars import from_global_id

    mid = from_global_id(requested["meeting"]["id"], "Meeting")
    assert mid is not None
    assert await m.user.credits() == {"available": 450, "blocked": 50}
    frozen.set(start)
    await sweep_once(in_process=True)
    meeting = await Meeting.get(id=mid)
    assert meeting.status is MeetingStatus.EXPIRED
    assert meeting.credit_status.value == "RETURNED"
    assert await m.user.credits() == {"available": 500, "blocked": 0}
    for who in (m.user, m.expert):
        assert [n.kind for n in await notes(mid, who.id)][-1] is NotificationKind.MEETING_EXPIRED


async def test_embedded_loop_runs_and_stops(client: httpx.AsyncClient, frozen: FrozenClock,
                                            env: Callable[..., None]) -> None:
    env(worker_interval_seconds=0.05)
    _, mid = await agreed(client, at(T0, hours=3))
    stop = asyncio.Event()
    task = asyncio.create_task(run_embedded(stop))
    for _ in range(100):
        meeting = await Meeting.get(id=mid)
        if meeting.conference_join_url and K.REMINDER_SENT in await events(mid):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert meeting.conference_join_url
    assert K.CONFERENCE_CREATED in await events(mid)
    assert K.REMINDER_SENT in await events(mid)
