"""Conference jobs (SPEC §4 S5, S6): Jitsi by default, Zoom against a local server that
speaks its endpoints, with injected failures (HTTP 500, timeouts)."""

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

from core.clock import FrozenClock
from models.enums import ConferenceStatus, NotificationKind, OutboxKind, TimelineEventKind
from models.meetings import Meeting
from models.outbox import OutboxEntry
from tests.support.client import at
from tests.support.clock import T0
from tests.support.peers import FakeZoom
from tests.support.workers import agreed, cancel, changes, events, move, notes, owed_jobs, run_owed
from workers.conferencing.jobs import run_conference_job, run_entry
from workers.conferencing.relay import relay_conference_jobs

K = TimelineEventKind


async def test_jitsi_created_moved_deleted(client: httpx.AsyncClient, frozen: FrozenClock,
                                           env: Callable[..., None]) -> None:
    env(jitsi_host="https://meet.example.org/")
    m, mid = await agreed(client, at(T0, days=2))
    meeting = await Meeting.get(id=mid)
    assert meeting.conference_status is ConferenceStatus.PENDING
    pending = await OutboxEntry.filter(kind=OutboxKind.CONFERENCE, delivered_at__isnull=True)
    assert {"meeting_id": mid, "op": "create_or_move"} in [e.payload for e in pending]

    await relay_conference_jobs(in_process=True)
    meeting = await Meeting.get(id=mid)
    assert meeting.conference_status is ConferenceStatus.CREATED
    assert meeting.conference_provider == "jitsi"
    url = meeting.conference_join_url or ""
    assert url.startswith("https://meet.example.org/meeting-")
    assert len(url.rsplit("/", 1)[1]) > 20  # unguessable
    assert (await events(mid))[-1] is K.CONFERENCE_CREATED
    assert (await changes(mid))[-1]["version"] == meeting.version
    assert not await OutboxEntry.filter(kind=OutboxKind.CONFERENCE, delivered_at__isnull=True,
                                        id__in=[e.id for e in pending])

    # Delivered twice: nothing more happens.
    assert await run_conference_job(mid, "create_or_move") == "unchanged"
    assert (await Meeting.get(id=mid)).version == meeting.version

    await move(m, mid, at(T0, days=4))
    await relay_conference_jobs(in_process=True)
    moved = await Meeting.get(id=mid)
    assert moved.conference_join_url == url  # the room stays
    assert (await events(mid)).count(K.CONFERENCE_CREATED) == 1

    await cancel(m, mid)
    await relay_conference_jobs(in_process=True)
    gone = await Meeting.get(id=mid)
    assert gone.conference_status is ConferenceStatus.CANCELLED
    assert gone.conference_join_url is None
    assert (await events(mid))[-1] is K.CONFERENCE_CANCELLED
    assert await run_conference_job(mid, "delete") == "skipped"


async def test_jitsi_signed_token(client: httpx.AsyncClient, frozen: FrozenClock,
                                  env: Callable[..., None]) -> None:
    env(jitsi_app_secret="s3cret-s3cret-s3cret-s3cret-s3cret", jitsi_app_id="app-1")
    start = at(T0, days=2)
    m, mid = await agreed(client, start)
    await relay_conference_jobs(in_process=True)
    meeting = await Meeting.get(id=mid)
    parts = urlsplit(meeting.conference_join_url or "")
    token = parse_qs(parts.query)["jwt"][0]
    claims = jwt.decode(token, "s3cret-s3cret-s3cret-s3cret-s3cret", algorithms=["HS256"],
                        audience="jitsi", options={"verify_nbf": False, "verify_exp": False})
    assert claims["room"] == parts.path.lstrip("/") == meeting.conference_external_id
    assert claims["iss"] == "app-1"
    assert claims["nbf"] <= start.timestamp() < (start + timedelta(hours=1)).timestamp() \
        <= claims["exp"]
    assert claims["context"]["user"]["moderator"] is False

    # The expert's link (60 min before) carries a moderator token.
    frozen.set(start - timedelta(hours=1))
    from workers.reminders import send_due_reminders
    await send_due_reminders()
    [link] = [n for n in await notes(mid, m.expert.id) if n.kind is NotificationKind.MEETING_LINK]
    host_token = link.body.split("jwt=")[1].split()[0]
    host = jwt.decode(host_token, "s3cret-s3cret-s3cret-s3cret-s3cret", algorithms=["HS256"],
                      audience="jitsi", options={"verify_nbf": False, "verify_exp": False})
    assert host["context"]["user"]["moderator"] is True

    # A new date: a new token for the new window, same room.
    new = at(T0, days=6)
    await move(m, mid, new)
    await relay_conference_jobs(in_process=True)
    moved = await Meeting.get(id=mid)
    assert moved.conference_external_id == meeting.conference_external_id
    assert moved.conference_join_url != meeting.conference_join_url
    claims = jwt.decode(parse_qs(urlsplit(moved.conference_join_url or "").query)["jwt"][0],
                        options={"verify_signature": False})
    assert claims["nbf"] <= new.timestamp() <= claims["exp"]


async def test_zoom_create_move_delete(client: httpx.AsyncClient, frozen: FrozenClock,
                                       fake_zoom: FakeZoom) -> None:
    start = at(T0, days=2)
    m, mid = await agreed(client, start)
    assert await run_conference_job(mid, "create_or_move") == "created"
    meeting = await Meeting.get(id=mid)
    assert meeting.conference_provider == "zoom"
    assert meeting.conference_status is ConferenceStatus.CREATED
    zoom_id = meeting.conference_external_id or ""
    assert meeting.conference_join_url == f"https://zoom.test/j/{zoom_id}"
    created = fake_zoom.meetings[zoom_id]
    assert created["start_time"] == "2030-01-09T08:00:00Z" and created["duration"] == 60
    assert (await events(mid))[-1] is K.CONFERENCE_CREATED

    await move(m, mid, at(T0, days=3, hours=2))
    assert await run_conference_job(mid, "create_or_move") == "unchanged"  # same join URL
    assert fake_zoom.meetings[zoom_id]["start_time"] == "2030-01-10T10:00:00Z"
    assert [(r[0], r[1]) for r in fake_zoom.requests][-1] == ("PATCH", f"/v2/meetings/{zoom_id}")

    await cancel(m, mid)
    assert await run_conference_job(mid, "delete") == "deleted"
    assert zoom_id not in fake_zoom.meetings
    assert (await events(mid))[-1] is K.CONFERENCE_CANCELLED
    # One token served all calls; the server saw nothing it did not expect.
    assert fake_zoom.tokens_issued == 1
    assert fake_zoom.errors == []


async def test_zoom_token_refreshed_after_401(client: httpx.AsyncClient, frozen: FrozenClock,
                                              fake_zoom: FakeZoom) -> None:
    _, mid = await agreed(client, at(T0, days=2))
    fake_zoom.tokens_issued = 0
    assert await run_conference_job(mid, "create_or_move") == "created"
    fake_zoom.expire_token = True
    _, other = await agreed(client, at(T0, days=2))
    assert await run_conference_job(other, "create_or_move") == "created"
    assert fake_zoom.tokens_issued == 2


async def test_zoom_token_expires_with_the_clock(client: httpx.AsyncClient,
                                                 frozen: FrozenClock,
                                                 fake_zoom: FakeZoom) -> None:
    _, first = await agreed(client, at(T0, days=2))
    _, second = await agreed(client, at(T0, days=2))
    await run_conference_job(first, "create_or_move")
    frozen.advance(timedelta(hours=1))
    await run_conference_job(second, "create_or_move")
    assert fake_zoom.tokens_issued == 2


async def test_zoom_retries_then_succeeds(client: httpx.AsyncClient, frozen: FrozenClock,
                                          fake_zoom: FakeZoom) -> None:
    _, mid = await agreed(client, at(T0, days=2))
    fake_zoom.failures = 2  # of 3 attempts
    [entry] = await owed_jobs(mid)
    assert await run_entry(entry.id) == "retry"
    # The attempt is recorded on the job's row, which waits out its backoff.
    entry = await OutboxEntry.get(id=entry.id)
    assert entry.attempts == 1 and entry.delivered_at is None
    assert entry.retry_at is not None and entry.retry_at > frozen.now()
    assert entry.id not in await OutboxEntry.filter(
        id__in=[e.id for e in await owed_jobs(mid)], retry_at__lte=frozen.now()
    ).values_list("id", flat=True)
    assert await run_owed(frozen, mid) == ["retry", "created"]
    assert [r[0] for r in fake_zoom.requests] == ["POST", "POST", "POST"]
    assert K.CONFERENCE_FAILED not in await events(mid)
    done = await OutboxEntry.get(id=entry.id)
    assert done.delivered_at is not None and done.attempts == 3
    assert await run_entry(entry.id) == "done_before"  # a redelivery changes nothing
    assert len(fake_zoom.requests) == 3


async def _assert_failed(m_user: str, m_expert: str, mid: int) -> None:
    meeting = await Meeting.get(id=mid)
    assert meeting.conference_status is ConferenceStatus.FAILED
    assert meeting.conference_join_url is None
    assert (await events(mid))[-1] is K.CONFERENCE_FAILED
    for party in (m_user, m_expert):
        assert [n.kind for n in await notes(mid, party)][-1] is NotificationKind.CONFERENCE_FAILED
    assert (await changes(mid))[-1]["version"] == meeting.version


async def test_zoom_500s_until_the_attempts_run_out(client: httpx.AsyncClient,
                                                    frozen: FrozenClock,
                                                    fake_zoom: FakeZoom) -> None:
    m, mid = await agreed(client, at(T0, days=2))
    fake_zoom.failures = 100
    assert await run_owed(frozen, mid) == ["retry", "retry", "failed"]
    assert len(fake_zoom.requests) == 3  # conference_attempts
    await _assert_failed(m.user.id, m.expert.id, mid)
    assert await owed_jobs(mid) == []  # FAILED is recorded: the job is done
    # Delivered again after the failure: not retried, not reported twice.
    assert await run_conference_job(mid, "create_or_move") == "skipped"
    assert len(fake_zoom.requests) == 3
    assert (await events(mid)).count(K.CONFERENCE_FAILED) == 1


async def test_zoom_timeouts(client: httpx.AsyncClient, frozen: FrozenClock,
                             fake_zoom: FakeZoom, env: Callable[..., None]) -> None:
    env(zoom_timeout_seconds=0.2, conference_attempts=2)
    m, mid = await agreed(client, at(T0, days=2))
    fake_zoom.delay = 1.0
    assert await run_owed(frozen, mid) == ["retry", "failed"]
    assert len(fake_zoom.requests) == 2
    await _assert_failed(m.user.id, m.expert.id, mid)


async def test_zoom_refused_without_retry(client: httpx.AsyncClient, frozen: FrozenClock,
                                          fake_zoom: FakeZoom, env: Callable[..., None]) -> None:
    env(zoom_user_id="nobody@example.com")  # the fake answers 404: not worth retrying
    m, mid = await agreed(client, at(T0, days=2))
    assert await run_owed(frozen, mid) == ["failed"]
    assert len(fake_zoom.requests) == 1
    await _assert_failed(m.user.id, m.expert.id, mid)


async def test_a_new_date_retries_a_failed_conference(client: httpx.AsyncClient,
                                                      frozen: FrozenClock,
                                                      fake_zoom: FakeZoom) -> None:
    m, mid = await agreed(client, at(T0, days=2))
    fake_zoom.failures = 100
    assert (await run_owed(frozen, mid))[-1] == "failed"
    fake_zoom.failures = 0
    await move(m, mid, at(T0, days=3))
    assert (await Meeting.get(id=mid)).conference_status is ConferenceStatus.PENDING
    assert await run_conference_job(mid, "create_or_move") == "created"
