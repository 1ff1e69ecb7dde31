"""Timeouts (PostgreSQL): a row locked by someone else, a request past its deadline. Each
answers a clean, retryable SERVICE_UNAVAILABLE (HTTP 503 + Retry-After under
application/graphql-response+json) and is never applied after the client was told it failed.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from app.asgi import create_app
from core import db
from core.clock import FrozenClock
from core.settings import get_settings
from models.enums import MeetingStatus
from models.meetings import Meeting
from schema.scalars import from_global_id
from tests.support.client import PAYLOAD, at, market
from tests.support.clock import T0

pytestmark = pytest.mark.pg

CONFIRM = f"""mutation($input: MeetingRefInput!) {{
  confirmMeeting(input: $input) {{ {PAYLOAD} }} }}"""
REQUEST = f"""mutation($input: RequestMeetingInput!) {{
  requestMeeting(input: $input) {{ {PAYLOAD} }} }}"""
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
def timeouts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DB_LOCK_TIMEOUT_MS", "300")
    monkeypatch.setenv("REQUEST_TIMEOUT_SECONDS", "1.5")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def http(orm: str, frozen: FrozenClock, timeouts: None
               ) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(get_settings(), manage_db=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        yield client


async def _locked(orm: str, meeting_id: int) -> asyncpg.Connection:
    """Another session holding the meeting's row lock (open transaction)."""
    conn = await asyncpg.connect(orm.split("?", 1)[0].replace("postgres://", "postgresql://"))
    await conn.execute("BEGIN")
    await conn.execute("SELECT 1 FROM meeting WHERE id = $1 FOR UPDATE", meeting_id)
    return conn


async def _confirm(client: httpx.AsyncClient, token: str, meeting_id: str) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": CONFIRM, "variables": {"input": {"meetingId": meeting_id}}},
        headers={"Authorization": f"Bearer {token}", "Accept": GRAPHQL_RESPONSE,
                 "Idempotency-Key": f"confirm-{meeting_id}"})


async def test_a_locked_row_answers_503_and_blocks_no_one_else(
        http: httpx.AsyncClient, orm: str) -> None:
    m, other = await market(http), await market(http)
    meeting = (await m.request(at(T0, days=2)))["meeting"]
    free = (await other.request(at(T0, days=2)))["meeting"]
    pk = from_global_id(meeting["id"], "Meeting")
    assert pk is not None
    locker = await _locked(orm, pk)
    try:
        started = time.monotonic()
        answer = await _confirm(http, m.expert.token, meeting["id"])
        assert time.monotonic() - started < 1.2  # the lock timeout, not the request's
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        body = answer.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert body["errors"][0]["extensions"]["retryable"] is True
        # Another user's meeting is not held up by the locked row.
        unrelated = await _confirm(http, other.expert.token, free["id"])
        assert unrelated.status_code == 200
        assert unrelated.json()["data"]["confirmMeeting"]["errors"] == []
    finally:
        await locker.execute("ROLLBACK")
        await locker.close()
    assert (await Meeting.get(id=pk)).status is MeetingStatus.AWAITING_APPROVAL
    retried = await _confirm(http, m.expert.token, meeting["id"])  # the same key
    assert retried.json()["data"]["confirmMeeting"]["meeting"]["status"] == "AGREED"


async def test_past_the_request_timeout_nothing_is_applied_later(
        http: httpx.AsyncClient, orm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_LOCK_TIMEOUT_MS", "0")  # wait on the lock for ever…
    get_settings.cache_clear()
    app = create_app(get_settings(), manage_db=False)  # …but not past the request timeout
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        m = await market(client)
        meeting = (await m.request(at(T0, days=2)))["meeting"]
        pk = from_global_id(meeting["id"], "Meeting")
        assert pk is not None
        locker = await _locked(orm, pk)
        try:
            started = time.monotonic()
            answer = await _confirm(client, m.expert.token, meeting["id"])
            assert 1.4 < time.monotonic() - started < 5
            assert answer.status_code == 503
            assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        finally:
            await locker.execute("COMMIT")  # the lock goes: nothing may proceed now
            await locker.close()
        await asyncio.sleep(0.5)
        assert (await Meeting.get(id=pk)).status is MeetingStatus.AWAITING_APPROVAL



async def test_an_exhausted_pool_answers_503_and_nothing_is_applied_later(
        http: httpx.AsyncClient, orm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two connections in the pool, both held by mutations waiting on a locked row: a third
    request gives up waiting for a connection at DB_POOL_ACQUIRE_TIMEOUT_SECONDS."""
    m, other = await market(http), await market(http)
    meeting = (await m.request(at(T0, days=2)))["meeting"]
    pk = from_global_id(meeting["id"], "Meeting")
    assert pk is not None
    monkeypatch.setenv("DB_LOCK_TIMEOUT_MS", "0")  # the holders wait on the lock for ever
    monkeypatch.setenv("REQUEST_TIMEOUT_SECONDS", "20")
    monkeypatch.setenv("DB_POOL_ACQUIRE_TIMEOUT_SECONDS", "0.5")
    get_settings.cache_clear()
    await db.close_db()
    await db.init_db(orm.replace("maxsize=30", "maxsize=2"))
    app = create_app(get_settings(), manage_db=False)
    locker = await _locked(orm, pk)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test", timeout=30) as client:
            holders = [asyncio.ensure_future(_confirm(client, m.expert.token, meeting["id"]))
                       for _ in range(2)]
            await asyncio.sleep(0.5)  # both are inside their transactions, on the lock
            assert not any(h.done() for h in holders)
            started = time.monotonic()
            answer = await client.post(
                "/graphql", json={"query": REQUEST, "variables": {"input": {
                    "serviceId": other.service_id, "skillId": other.skill_id,
                    "startsAt": at(T0, days=3).isoformat()}}},
                headers={"Authorization": f"Bearer {other.user.token}",
                         "Accept": GRAPHQL_RESPONSE, "Idempotency-Key": "pool-exhausted"})
            assert 0.4 < time.monotonic() - started < 5  # the acquire timeout, not the request's
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "1"
            body = answer.json()
            assert "data" not in body
            assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert body["errors"][0]["extensions"]["retryable"] is True
            await locker.execute("COMMIT")  # the holders proceed; the refused one may not
            confirmed = [(await h).json()["data"]["confirmMeeting"] for h in holders]
        # The same key: one applied it, the other (waiting on the key) replays its answer.
        assert [c["meeting"]["status"] for c in confirmed] == ["AGREED", "AGREED"]
        await asyncio.sleep(0.5)
        assert not await Meeting.filter(user_id=from_global_id(other.user.id, "Account")
                                        ).exists()
    finally:
        await locker.close()
        await db.close_db()
        get_settings.cache_clear()
        await db.init_db(orm)
