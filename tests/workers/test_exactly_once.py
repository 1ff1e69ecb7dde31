"""Several workers at once on PostgreSQL: each reminder and conference job goes out once."""

import asyncio
from datetime import timedelta

import httpx
import pytest

from core.clock import FrozenClock
from models.enums import TimelineEventKind
from models.meetings import Reminder, TimelineEvent
from tests.support.client import at
from tests.support.clock import T0
from tests.support.workers import agreed
from workers.conferencing.relay import relay_conference_jobs
from workers.reminders import send_due_reminders

K = TimelineEventKind


@pytest.mark.pg
async def test_concurrent_sweeps_send_each_reminder_once(client: httpx.AsyncClient,
                                                         frozen: FrozenClock) -> None:
    start = at(T0, days=1)
    ids = [(await agreed(client, start + timedelta(minutes=i)))[1] for i in range(12)]
    frozen.set(start - timedelta(minutes=30))  # both reminders of every meeting are due
    while await relay_conference_jobs(in_process=True):  # links wait for their conference
        pass
    await asyncio.gather(*(send_due_reminders() for _ in range(4)))
    await asyncio.gather(*(send_due_reminders() for _ in range(4)))
    sent = await Reminder.filter(meeting_id__in=ids, sent_at__isnull=False).count()
    assert sent == 2 * len(ids)
    for kind in (K.REMINDER_SENT, K.LINK_SENT):
        assert await TimelineEvent.filter(meeting_id__in=ids, kind=kind).count() == len(ids)


@pytest.mark.pg
async def test_concurrent_relays_create_each_conference_once(client: httpx.AsyncClient,
                                                             frozen: FrozenClock) -> None:
    ids = [(await agreed(client, at(T0, days=2, minutes=i)))[1] for i in range(8)]
    await asyncio.gather(*(relay_conference_jobs(in_process=True) for _ in range(4)))
    created = await TimelineEvent.filter(meeting_id__in=ids,
                                         kind=K.CONFERENCE_CREATED).count()
    assert created == len(ids)
