"""Live connections that cost little while idle (app/websocket_protocol.py): the server
accepts the permessage-deflate that browsers offer, but without context takeover, so an
idle connection holds no zlib stream; events still arrive, compressed."""

import base64
import os
import zlib

import httpx
import pytest
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.http11 import Request
from websockets.server import ServerProtocol

from app.websocket_protocol import deflate_per_message
from models.outbox import OutboxEntry
from tests.conftest import T0
from tests.live import server, subscriber
from tests.support import at, market

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
