"""Live connections that cost little while idle (app/websocket_protocol.py): the server
accepts the permessage-deflate that browsers offer, but without context takeover, so an
idle connection holds no zlib stream; events still arrive, compressed."""

import asyncio
import base64
import os
import zlib
from typing import Any

import httpx
import pytest
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.http11 import Request
from websockets.server import ServerProtocol

from app.websocket_protocol import deflate_per_message
from models.outbox import OutboxEntry
from tests.support.client import at, market
from tests.support.clock import T0
from tests.support.live import server, subscriber

NOTIFICATIONS = "subscription { notificationReceived { kind title } }"


def _handshake(offer: str) -> ServerProtocol:
    conn = ServerProtocol(extensions=[deflate_per_message()])
    key = base64.b64encode(os.urandom(16)).decode()
    conn.receive_data((
        "GET /graphql HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Extensions: {offer}\r\n\r\n").encode())
    (request,) = conn.events_received()
    assert isinstance(request, Request)
    response = conn.accept(request)
    conn.send_response(response)
    conn.data_to_send()
    assert response.status_code == 101
    accepted = response.headers["Sec-WebSocket-Extensions"]
    assert "server_no_context_takeover" in accepted
    assert "client_no_context_takeover" in accepted
    return conn


def test_an_idle_connection_holds_no_zlib_stream() -> None:
    # Chrome's and Firefox's offer.
    conn = _handshake("permessage-deflate; client_max_window_bits")
    (deflate,) = conn.extensions
    assert isinstance(deflate, PerMessageDeflate)
    assert not hasattr(deflate, "encoder") and not hasattr(deflate, "decoder")

    payload = b'{"id":"1","type":"next","payload":{"data":{"x":"' + b"abc" * 100 + b'"}}}'
    conn.send_text(payload)
    (frame_bytes,) = conn.data_to_send()
    # Compressed on the wire (RSV1 set, fewer bytes than the text), and afterwards the
    # connection is idle again: no stream kept.
    assert frame_bytes[0] & 0x40
    assert len(frame_bytes) < len(payload)
    assert not hasattr(deflate, "encoder")
    body = frame_bytes[4:] if frame_bytes[1] & 0x7F == 126 else frame_bytes[2:]
    inflater = zlib.decompressobj(wbits=-12)
    assert inflater.decompress(body + b"\x00\x00\xff\xff") == payload


def test_a_broadcast_frame_is_compressed_once_for_every_socket(
        monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = zlib.compressobj

    def compressobj(*args: Any, **kwargs: Any) -> Any:
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(zlib, "compressobj", compressobj)
    first = _handshake("permessage-deflate; client_max_window_bits")
    second = _handshake("permessage-deflate; client_max_window_bits")
    payload = b'{"id":"1","type":"next","payload":{"data":{"y":"' + b"xyz" * 100 + b'"}}}'
    first.send_text(payload)
    (sent_first,) = first.data_to_send()
    second.send_text(payload)
    (sent_second,) = second.data_to_send()
    assert sent_first == sent_second and sent_first[0] & 0x40
    assert len(made) == 1  # the second socket reused the first one's output
    body = sent_second[4:] if sent_second[1] & 0x7F == 126 else sent_second[2:]
    assert zlib.decompressobj(wbits=-12).decompress(body + b"\x00\x00\xff\xff") == payload


@pytest.mark.slow
async def test_a_browser_like_client_gets_compressed_events(orm: str,
                                                            client: httpx.AsyncClient) -> None:
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)
    m = await market(client)
    with server(orm) as base:
        async with subscriber(base, m.expert.token) as sub:
            (deflate,) = sub.ws.protocol.extensions
            assert isinstance(deflate, PerMessageDeflate)
            assert deflate.local_no_context_takeover and deflate.remote_no_context_takeover
            await sub.subscribe(NOTIFICATIONS)
            async with httpx.AsyncClient(base_url=f"http://{base}", timeout=20) as http:
                m.user.http = http
                requested = await m.request(at(T0, days=3))
                assert requested["errors"] == []
            message = await sub.receive()
            assert message["type"] == "next", message
            assert message["payload"]["data"]["notificationReceived"]["kind"]


CHANGED = """subscription($id: ID) { meetingChanged(meetingId: $id) {
  meeting { id status version viewerRole availableActions } event { kind }
  viewer { account { id } } } }"""


def _executions(base: str) -> dict[str, float]:
    text = httpx.get(f"http://{base}/metrics", timeout=10).text
    found = {"yes": 0.0, "no": 0.0}
    for line in text.splitlines():
        if line.startswith("meetings_live_event_executions_total{"):
            found[line.split('shared="')[1].split('"')[0]] = float(line.rsplit(" ", 1)[1])
    return found


@pytest.mark.slow
async def test_a_broadcast_is_executed_once_per_viewer(orm: str,
                                                      client: httpx.AsyncClient) -> None:
    """Subscribers of one meeting with the same document and variables: those of the same
    viewer share one execution and one encoded payload, each viewer gets its own answer."""
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)
    m = await market(client)
    meeting = (await m.request(at(T0, days=3)))["meeting"]
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)
    variables = {"id": meeting["id"]}
    with server(orm) as base:
        async with (subscriber(base, m.expert.token) as e1,
                    subscriber(base, m.expert.token) as e2,
                    subscriber(base, m.expert.token) as e3,
                    subscriber(base, m.user.token) as u):
            for sub in (e1, e2, e3, u):
                await sub.subscribe(CHANGED, variables)
            await asyncio.sleep(0.5)  # graphql-transport-ws does not acknowledge a subscribe
            before = _executions(base)
            async with httpx.AsyncClient(base_url=f"http://{base}", timeout=20) as http:
                m.expert.http = http
                confirmed = await m.expert.mutate("confirmMeeting",
                                                  {"meetingId": meeting["id"]},
                                                  "MeetingRefInput")
                assert confirmed["errors"] == []
            got = [(await s.receive())["payload"]["data"]["meetingChanged"]
                   for s in (e1, e2, e3, u)]
            # The embedded server's conference job changes the meeting right after the
            # commit: let its event reach everyone too before counting.
            await asyncio.sleep(1.0)
            after = _executions(base)
    assert got[0] == got[1] == got[2]
    assert got[0]["meeting"]["viewerRole"] == "EXPERT"
    assert got[0]["viewer"]["account"]["id"] == m.expert.id
    assert got[3]["meeting"]["viewerRole"] == "USER"
    assert got[3]["viewer"]["account"]["id"] == m.user.id
    assert got[0]["meeting"]["status"] == got[3]["meeting"]["status"] == "AGREED"
    # Per event, one execution for the expert's three subscriptions (they share one stream,
    # app/live_streams.py), one for the user's.
    executed = after["no"] - before["no"] + after["yes"] - before["yes"]
    assert executed in (2, 4), executed
