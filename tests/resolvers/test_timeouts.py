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

