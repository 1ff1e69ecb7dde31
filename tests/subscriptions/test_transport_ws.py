"""graphql-transport-ws as served by app/websocket_handlers.py (not Strawberry's handler):
the protocol's close codes and frames, and events that carry their rows."""

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
import websockets

from app.websocket_handlers import MAX_BACKLOG, TransportWSConnection
from core.mailbox import Flag
from models.accounts import Account
from models.enums import NotificationKind, OutboxKind
from models.notifications import Notification
from models.outbox import OutboxEntry
from resolvers import access
from subscriptions import carried, channels
from subscriptions.bus import InProcessBus
from subscriptions.relay import Relay
from tests.support.client import at, market
from tests.support.clock import T0
from tests.support.live import server

NOTIFICATIONS = "subscription { notificationReceived { kind title } }"


async def _closed_with(ws: Any) -> tuple[int, str]:
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 10)
    assert ws.close_code is not None
    return ws.close_code, ws.close_reason or ""


async def _opened(base: str, token: str | None = None) -> Any:
    ws = await websockets.connect(f"ws://{base}/graphql", subprotocols=["graphql-transport-ws"])
    if token is not None:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "connection_ack"}
    return ws


def _subscribe(op_id: str, query: str) -> str:
    return json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query}})


@pytest.mark.slow
async def test_the_protocol_closes_and_answers_as_before(orm: str,
                                                         client: httpx.AsyncClient) -> None:
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)
    m = await market(client)
    token = m.expert.token
    with server(orm) as base:
        ws = await _opened(base)
        await ws.send(_subscribe("1", NOTIFICATIONS))
        assert await _closed_with(ws) == (4401, "Unauthorized")

        ws = await _opened(base, token)
        await ws.send(json.dumps({"type": "connection_init"}))
        assert await _closed_with(ws) == (4429, "Too many initialisation requests")

        ws = await _opened(base, token)
        await ws.send("{not json")
        assert await _closed_with(ws) == (4400, "WebSocket message must be valid JSON")

        ws = await _opened(base, token)
        await ws.send(b"\x00")
        assert await _closed_with(ws) == (4400, "WebSocket message type must be text")

        ws = await _opened(base, token)
        await ws.send(json.dumps({"type": "hello"}))
        assert await _closed_with(ws) == (4400, "Unknown message type: hello")

        ws = await _opened(base, token)
        await ws.send(json.dumps({"type": "subscribe", "id": "1"}))
        assert await _closed_with(ws) == (4400, "Failed to parse message")

        ws = await _opened(base, token)
        # A document that does not parse escapes the schema's stream (as with Strawberry's
        # handler): logged, and the operation completes.
        await ws.send(_subscribe("s", "subscription {"))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"id": "s",
                                                                      "type": "complete"}
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "pong"}
        await ws.send(_subscribe("1", NOTIFICATIONS))
        await ws.send(_subscribe("1", NOTIFICATIONS))
        assert await _closed_with(ws) == (4409, "Subscriber for 1 already exists")

        ws = await _opened(base, token)
        await ws.send(_subscribe("v", "subscription { notificationReceived { nope } }"))
        error = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert error["id"] == "v" and error["type"] == "error"
        assert "nope" in error["payload"][0]["message"]
        # A query over the socket: one `next`, then `complete`.
        await ws.send(_subscribe("q", "{ viewer { account { id } } }"))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert answer == {"id": "q", "type": "next", "payload": {
            "data": {"viewer": {"account": {"id": m.expert.id}}}}}
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"id": "q",
                                                                      "type": "complete"}
        await ws.close()


async def test_the_relay_publishes_a_notification_with_its_row(orm: str) -> None:
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)
    viewer, stranger = [await Account.create(key=f"carried-{uuid.uuid4().hex}",
                                             display_name="n", created_at=T0)
                        for _ in range(2)]
    row = await Notification.create(recipient_id=viewer.id,
                                    kind=NotificationKind.MEETING_CONFIRMED, title="t",
                                    body="b", created_at=T0)
    await OutboxEntry.create(kind=OutboxKind.NOTIFICATION, created_at=T0, payload={
        "notification_id": row.id, "recipient_id": row.recipient_id})
    bus = InProcessBus()
    async with bus.subscribe(channels.account_notifications(row.recipient_id)) as events:
        await Relay(bus, lock_rows=False).deliver_pending()
        event = await asyncio.wait_for(anext(aiter(events)), 5)
    assert event[carried.NOTIFICATION]["title"] == "t"
    await row.delete()  # the subscriber builds its answer from the event alone
    row_carried = carried.notification_of(event)
    assert row_carried is not None
    delivered = access.own_carried_notification(viewer, row_carried)
    assert delivered is not None
    assert (delivered.id, delivered.kind, delivered.title, delivered.created_at,
            delivered.read_at) == (row.id, NotificationKind.MEETING_CONFIRMED, "t", T0, None)
    assert access.own_carried_notification(stranger, row_carried) is None


def _live_subscriptions(base: str) -> float:
    for line in httpx.get(f"http://{base}/metrics", timeout=10).text.splitlines():
        if line.startswith("meetings_live_subscriptions "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no meetings_live_subscriptions gauge")


@pytest.mark.slow
async def test_subscribers_of_one_stream_get_their_own_ids_and_leave_alone(
        orm: str, client: httpx.AsyncClient) -> None:
    """Two subscriptions of one viewer with the same document share a stream: each gets
    every event under its own id, and completing one leaves the other running."""
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)
    m = await market(client)
    with server(orm) as base:
        one, two = await _opened(base, m.expert.token), await _opened(base, m.expert.token)
        for ws, op_id in ((one, "a"), (one, "b"), (two, "c")):
            await ws.send(_subscribe(op_id, NOTIFICATIONS))
        await asyncio.sleep(0.5)  # graphql-transport-ws does not acknowledge a subscribe
        assert _live_subscriptions(base) == 3
        async with httpx.AsyncClient(base_url=f"http://{base}", timeout=20) as http:
            m.user.http = http
            assert (await m.request(at(T0, days=3)))["errors"] == []
            frames = [json.loads(await asyncio.wait_for(ws.recv(), 10))
                      for ws in (one, one, two)]
            assert sorted(f["id"] for f in frames) == ["a", "b", "c"]
            assert all(f["type"] == "next" and f["payload"] == frames[0]["payload"]
                       for f in frames)
            assert frames[0]["payload"]["data"]["notificationReceived"]["kind"] == \
                "MEETING_REQUESTED"

            await one.send(json.dumps({"id": "a", "type": "complete"}))
            await one.close()  # "b" goes with its connection; "c" goes on alone
            await asyncio.sleep(0.3)
            assert _live_subscriptions(base) == 1
            assert (await m.request(at(T0, days=4)))["errors"] == []
            frame = json.loads(await asyncio.wait_for(two.recv(), 10))
            assert frame["id"] == "c" and frame["type"] == "next"
        await two.close()
        await asyncio.sleep(0.3)
        assert _live_subscriptions(base) == 0


async def test_a_socket_that_reads_nothing_is_closed_not_buffered_without_end() -> None:
    sent: list[dict[str, Any]] = []
    gate = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        await gate.wait()  # the transport is paused until the gate opens
        sent.append(message)

    paused = Flag(False)
    connection = TransportWSConnection(view=None, send=send, writable=paused)  # type: ignore[arg-type]
    for n in range(MAX_BACKLOG + 5):
        await connection.send_frame('{"id":"1"', f',"type":"next","payload":{{"n":{n}}}}}')
    assert connection.closed and connection.backlog == MAX_BACKLOG
    gate.set()
    for _ in range(50):
        await asyncio.sleep(0)
    # Closed with 1013 (try again later): what was waiting is dropped, the client catches
    # up when it subscribes again.
    assert sent == [{"type": "websocket.close", "code": 1013,
                     "reason": "Too many frames unread"}]
