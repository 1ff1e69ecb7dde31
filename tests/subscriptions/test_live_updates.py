"""Live updates over real WebSockets against real server processes (SPEC §8)."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from models.outbox import OutboxEntry
from tests.support.backend import BACKEND
from tests.support.client import Market, at, market
from tests.support.clock import T0
from tests.support.live import RedisServer, server, subscriber

CHANGES = """subscription($id: ID) { meetingChanged(meetingId: $id) {
  meeting { id status version alternative { startsAt } } event { kind label actor } } }"""
NOTIFICATIONS = "subscription { notificationReceived { kind title meeting { id } } }"
# The PostgreSQL run goes through Redis; the SQLite run is the embedded in-process bus.
SHARED_REDIS = "redis://127.0.0.1:6379/0" if BACKEND == "postgres" else None


@pytest.fixture(autouse=True)
async def no_backlog(orm: str) -> None:
    """Tests that went through the in-process ASGI client ran no relay: their outbox rows are
    still undelivered. They had no subscribers; mark them delivered so that a live server
    here does not start by publishing the whole suite's history."""
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)


@pytest.fixture
async def http(orm: str) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    with server(orm, SHARED_REDIS) as base:
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=20) as client:
            yield base, client


async def _published() -> None:
    """Waits (up to 10 s) until the live server's relay has published every committed
    event."""
    for _ in range(200):
        if not await OutboxEntry.filter(delivered_at__isnull=True,
                                        kind__in=["MEETING_CHANGED", "NOTIFICATION"]).exists():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("the relay did not publish the backlog")


def _data(message: dict[str, Any]) -> dict[str, Any]:
    assert message["type"] in ("next", "data"), message
    assert not message["payload"].get("errors"), message
    return message["payload"]["data"]  # type: ignore[no-any-return]


async def _change(ws: Any) -> dict[str, Any]:
    """The next meetingChanged a party caused. The conference job's own changes (created,
    cancelled: run right after the commit by the embedded server) may come in between."""
    while True:
        seen = _data(await ws.receive())["meetingChanged"]
        if not (seen["event"] or {}).get("kind", "").startswith("CONFERENCE_"):
            return seen  # type: ignore[no-any-return]


async def _mutate(m: Market, who: str, name: str, input_type: str,
                  **input: Any) -> dict[str, Any]:
    party = m.expert if who == "expert" else m.user
    result = await party.mutate(name, input, input_type)
    assert result["errors"] == [], result["errors"]
    return result["meeting"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("legacy", [False, True], ids=["graphql-transport-ws", "graphql-ws"])
async def test_participants_see_every_change_as_it_happens(
        http: tuple[str, httpx.AsyncClient], legacy: bool) -> None:
    base, client = http
    m = await market(client)
    first = (await m.request(at(T0, days=3)))["meeting"]
    second = (await m.request(at(T0, days=4)))["meeting"]
    await _published()  # the requests' own events are out before anyone subscribes
    async with subscriber(base, m.user.token, legacy=legacy) as user_ws, \
            subscriber(base, m.expert.token, legacy=legacy) as expert_ws:
        await user_ws.subscribe(CHANGES, {"id": first["id"]})
        await expert_ws.subscribe(CHANGES)  # every meeting of the expert's
        await asyncio.sleep(0.3)  # the subscription is registered before the first event

        await _mutate(m, "expert", "confirmMeeting", "MeetingRefInput", meetingId=first["id"])
        seen = await _change(user_ws)
        assert seen["meeting"]["status"] == "AGREED"
        assert seen["event"] == {"kind": "APPROVED_BY_EXPERT", "label": "Expert Approval",
                                 "actor": "EXPERT"}

        await _mutate(m, "expert", "rescheduleMeeting", "RescheduleMeetingInput",
                      meetingId=first["id"], startsAt=at(T0, days=5).isoformat())
        seen = await _change(user_ws)
        assert seen["event"]["kind"] == "APPROVED_BY_EXPERT"  # the last of the row's events
        assert seen["meeting"]["alternative"] is not None

        await _mutate(m, "user", "cancelMeeting", "CancelMeetingInput", meetingId=first["id"],
                      reasonCode="SCHEDULE_CONFLICT")
        seen = await _change(user_ws)
        assert (seen["meeting"]["status"], seen["event"]["kind"]) == ("CANCELLED",
                                                                      "CANCELLED_BY_USER")

        await _mutate(m, "expert", "declineMeeting", "DeclineMeetingInput",
                      meetingId=second["id"], reasonCode="NOT_AVAILABLE")
        kinds = [(await _change(expert_ws))["event"]["kind"] for _ in range(4)]
        assert kinds == ["APPROVED_BY_EXPERT", "APPROVED_BY_EXPERT", "CANCELLED_BY_USER",
                         "REJECTED_BY_EXPERT"]


async def test_a_third_account_cannot_subscribe(http: tuple[str, httpx.AsyncClient]) -> None:
    base, client = http
    m = await market(client)
    meeting = (await m.request(at(T0, days=3)))["meeting"]
    from tests.support.client import party

    stranger = await party(client)
    async with subscriber(base, stranger.token) as ws:
        await ws.subscribe(CHANGES, {"id": meeting["id"]})
        _assert_refused(await ws.receive(), "NOT_FOUND")
        # Even once the meeting changes, the stranger receives nothing more.
        await _mutate(m, "expert", "confirmMeeting", "MeetingRefInput", meetingId=meeting["id"])
        try:
            after = await ws.receive(timeout=1.0)
        except TimeoutError:
            after = {"type": "complete"}
        assert after["type"] == "complete", after
    async with subscriber(base, None) as ws:
        await ws.subscribe(CHANGES)
        _assert_refused(await ws.receive(), "UNAUTHENTICATED")


def _assert_refused(message: dict[str, Any], code: str) -> None:
    """The operation ends with an error and no data (sent as `error`, or as a result whose
    only content is errors, depending on when the generator raised)."""
    assert message["type"] in ("error", "next", "data"), message
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload.get("errors")
    assert errors and errors[0]["extensions"]["code"] == code, message
    assert not (isinstance(payload, dict) and payload.get("data")), message


async def test_notifications_arrive_live(http: tuple[str, httpx.AsyncClient]) -> None:
    base, client = http
    m = await market(client)
    async with subscriber(base, m.expert.token) as ws:
        await ws.subscribe(NOTIFICATIONS)
        await asyncio.sleep(0.3)
        meeting = (await m.request(at(T0, days=3)))["meeting"]
        seen = _data(await ws.receive())["notificationReceived"]
        assert seen["kind"] == "MEETING_REQUESTED"
        assert seen["meeting"]["id"] == meeting["id"]


@pytest.mark.pg
async def test_events_cross_server_processes(orm: str) -> None:
    with server(orm, SHARED_REDIS) as one, server(orm, SHARED_REDIS) as two:
        async with httpx.AsyncClient(base_url=f"http://{two}", timeout=20) as client:
            m = await market(client)
            meeting = (await m.request(at(T0, days=3)))["meeting"]
            await _published()
            async with subscriber(one, m.user.token) as ws:
                await ws.subscribe(CHANGES, {"id": meeting["id"]})
                await asyncio.sleep(0.3)
                await _mutate(m, "expert", "confirmMeeting", "MeetingRefInput",
                              meetingId=meeting["id"])
                seen = _data(await ws.receive())["meetingChanged"]
                assert seen["event"]["kind"] == "APPROVED_BY_EXPERT"


async def test_nothing_is_lost_while_redis_is_down(orm: str) -> None:
    redis = RedisServer()
    redis.start()
    try:
        with server(orm, redis.url) as base:
            async with httpx.AsyncClient(base_url=f"http://{base}", timeout=20) as client:
                m = await market(client)
                meetings = [(await m.request(at(T0, days=3 + i)))["meeting"] for i in range(3)]
                await _published()
                async with subscriber(base, m.user.token) as ws:
                    await ws.subscribe(CHANGES)
                    await asyncio.sleep(0.3)
                    redis.stop()
                    for meeting in meetings:  # mutations succeed while Redis is down
                        await _mutate(m, "expert", "confirmMeeting", "MeetingRefInput",
                                      meetingId=meeting["id"])
                    await asyncio.sleep(1.0)
                    redis.start()
                    got = {_data(await ws.receive(timeout=20))["meetingChanged"]["meeting"]["id"]
                           for _ in meetings}
                    assert got == {meeting["id"] for meeting in meetings}
                pending = await OutboxEntry.filter(delivered_at__isnull=True,
                                                   kind="MEETING_CHANGED").count()
                assert pending == 0
    finally:
        redis.stop()


async def test_a_change_carries_the_list_cursor_and_the_subscribers_balance(
        http: tuple[str, httpx.AsyncClient]) -> None:
    """What the dashboard needs to update its cache from the event alone: where the meeting
    sorts in `meetings` lists, and the subscriber's credits after the change."""
    base, client = http
    m = await market(client, credits=500)
    meeting = (await m.request(at(T0, days=3)))["meeting"]
    await _published()
    query = """subscription { meetingChanged { cursor meeting { id status }
      viewer { credits { available blocked } } } }"""
    async with subscriber(base, m.user.token) as user_ws:
        await user_ws.subscribe(query)
        await asyncio.sleep(0.3)
        await _mutate(m, "expert", "declineMeeting", "DeclineMeetingInput",
                      meetingId=meeting["id"], reasonCode="NOT_AVAILABLE")
        seen = _data(await user_ws.receive())["meetingChanged"]
    assert seen["meeting"] == {"id": meeting["id"], "status": "REJECTED"}
    assert seen["viewer"]["credits"] == {"available": 500, "blocked": 0}
    listed = await m.user.q("{ meetings(role: USER) { edges { cursor node { id } } } }")
    [edge] = listed["meetings"]["edges"]
    assert edge == {"cursor": seen["cursor"], "node": {"id": meeting["id"]}}
