"""Reminder timing (SPEC §4 S3, S4): the clock is moved, never waited for.

Tests share one database, so each checks its own meeting's reminders, not sweep totals."""

from datetime import timedelta

import httpx
import pytest

from core.clock import FrozenClock
from models.enums import NotificationKind, ReminderKind, TimelineEventKind
from models.meetings import Meeting, Reminder
from tests.support.client import at
from tests.support.clock import T0
from tests.support.workers import agreed, cancel, changes, events, move, notes, pk
from workers import reminders
from workers.conferencing.relay import relay_conference_jobs
from workers.reminders import send_due_reminders

K = TimelineEventKind
R = ReminderKind
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


async def sweep(meeting_id: int, *, conferences: bool = True) -> list[ReminderKind]:
    """Runs the sweep (conference jobs first, as the worker does); the kinds of this meeting's
    reminders sent so far, in order."""
    if conferences:
        await relay_conference_jobs(in_process=True)
    while await send_due_reminders():  # other tests' reminders share the database
        pass
    sent = await Reminder.filter(meeting_id=meeting_id, sent_at__isnull=False).order_by(
        "sent_at", "id")
    return [r.kind for r in sent]


async def test_agreed_far_ahead(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    start = at(T0, days=3)
    m, mid = await agreed(client, start)
    await relay_conference_jobs(in_process=True)  # the join URL exists before the link
    assert await sweep(mid) == []
    frozen.set(start - DAY - MINUTE)
    assert await sweep(mid) == []
    version = (await Meeting.get(id=mid)).version

    frozen.set(start - DAY)
    assert await sweep(mid) == [R.REMINDER]
    assert await sweep(mid) == [R.REMINDER]  # at most once
    meeting = await Meeting.get(id=mid)
    assert meeting.version == version + 1
    assert (await events(mid))[-1] is K.REMINDER_SENT
    reminder = (await notes(mid, m.user.id))[-1]
    assert reminder.kind is NotificationKind.MEETING_REMINDER
    assert reminder.title == "Meeting reminder"
    last = (await changes(mid))[-1]
    assert last["version"] == meeting.version
    assert last["account_ids"] == [pk(m.user.id), pk(m.expert.id)]
    assert last["event_id"] is not None

    frozen.set(start - HOUR - MINUTE)
    assert await sweep(mid) == [R.REMINDER]
    frozen.set(start - HOUR)
    assert await sweep(mid) == [R.REMINDER, R.LINK]
    [link] = [n for n in await notes(mid, m.expert.id) if n.kind is NotificationKind.MEETING_LINK]
    assert link.title == "Meeting link"
    assert meeting.conference_join_url and meeting.conference_join_url in link.body
    assert (await events(mid))[-1] is K.LINK_SENT
    assert (await Meeting.get(id=mid)).version == version + 2
    frozen.set(start + MINUTE)
    assert await sweep(mid) == [R.REMINDER, R.LINK]


async def test_agreed_inside_the_window(client: httpx.AsyncClient,
                                        frozen: FrozenClock) -> None:
    start = at(T0, hours=2)
    m, mid = await agreed(client, start)
    assert await sweep(mid) == [R.REMINDER]  # the 24 h reminder is overdue: at once
    assert [n.kind for n in await notes(mid, m.user.id)][-1] is NotificationKind.MEETING_REMINDER
    frozen.set(start - HOUR - MINUTE)
    assert await sweep(mid) == [R.REMINDER]
    frozen.set(start - HOUR)
    assert await sweep(mid) == [R.REMINDER, R.LINK]
    kinds = await events(mid)
    assert kinds.count(K.REMINDER_SENT) == 1 and kinds.count(K.LINK_SENT) == 1


async def test_both_overdue_when_agreed(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    start = at(T0, minutes=30)
    _, mid = await agreed(client, start)
    assert sorted(await sweep(mid)) == [R.LINK, R.REMINDER]
    frozen.set(start)
    assert len(await sweep(mid)) == 2


async def test_link_waits_for_the_conference(client: httpx.AsyncClient,
                                             frozen: FrozenClock) -> None:
    start = at(T0, hours=2)
    m, mid = await agreed(client, start)
    frozen.set(start - HOUR)
    assert await sweep(mid, conferences=False) == [R.REMINDER]  # no link to send yet
    assert await sweep(mid) == [R.REMINDER, R.LINK]
    url = (await Meeting.get(id=mid)).conference_join_url
    [link] = [n for n in await notes(mid, m.expert.id) if n.kind is NotificationKind.MEETING_LINK]
    assert url and url in link.body
    # Close to the start, a link message goes out even while the conference is pending.
    late = at(T0, days=1)
    _, other = await agreed(client, late)
    frozen.set(late - 9 * MINUTE)
    assert await sweep(other, conferences=False) == [R.REMINDER, R.LINK]


async def test_nothing_once_started(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    start = at(T0, days=1)
    _, mid = await agreed(client, start)
    frozen.set(start)  # the worker was down until the start
    assert await sweep(mid) == []


async def test_rescheduled(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    old, new = at(T0, days=3), at(T0, days=5)
    m, mid = await agreed(client, old)
    await move(m, mid, new)
    frozen.set(old - DAY)
    assert await sweep(mid) == []  # the old date's reminder is not sent
    frozen.set(old - HOUR)
    assert await sweep(mid) == []
    frozen.set(new - DAY)
    assert await sweep(mid) == [R.REMINDER]
    sent = await Reminder.filter(meeting_id=mid, sent_at__isnull=False)
    assert [r.starts_at for r in sent] == [new]


async def test_rescheduled_after_the_reminder_was_sent(client: httpx.AsyncClient,
                                                       frozen: FrozenClock) -> None:
    old, new = at(T0, days=2), at(T0, days=4)
    m, mid = await agreed(client, old)
    frozen.set(old - DAY)
    assert await sweep(mid) == [R.REMINDER]
    await move(m, mid, new)
    frozen.set(new - DAY)
    assert await sweep(mid) == [R.REMINDER, R.REMINDER]  # the new date gets its own
    assert (await events(mid)).count(K.REMINDER_SENT) == 2


async def test_cancelled(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    start = at(T0, days=3)
    m, mid = await agreed(client, start)
    await cancel(m, mid)
    for moment in (start - DAY, start - HOUR, start - MINUTE):
        frozen.set(moment)
        assert await sweep(mid) == []
    assert K.REMINDER_SENT not in await events(mid)
    assert await Reminder.filter(meeting_id=mid).count() == 0


async def test_waiting_links_do_not_hold_up_other_reminders(
        client: httpx.AsyncClient, frozen: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Links waiting for their conference are not claimed, so a batch full of them cannot end
    the sweep before the reminders that can go out (seen: 1,305 due reminders stalled)."""
    monkeypatch.setattr(reminders, "CLAIM", 2)
    start = at(T0, hours=2)
    waiting = [(await agreed(client, start))[1] for _ in range(3)]
    frozen.set(start - 15 * MINUTE)
    for mid in waiting:  # their reminders are out; their links wait
        assert await sweep(mid, conferences=False) == [R.REMINDER]
    # Its reminder is due at start - 30 min: after the waiting links (due at start - 60 min).
    _, other = await agreed(client, start + DAY - 30 * MINUTE)
    assert await send_due_reminders() >= 1
    assert R.REMINDER in [r.kind for r in await Reminder.filter(meeting_id=other,
                                                                sent_at__isnull=False)]
    for mid in waiting:
        assert await Reminder.filter(meeting_id=mid, kind=R.LINK,
                                     sent_at__isnull=True).exists()
