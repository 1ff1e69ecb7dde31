"""Masked errors carry an id that the log carries too; CORS and WebSocket origins follow the
allowlist."""

import asyncio
import json
import logging
import re
from typing import Any

import pytest
import websockets

from schema import types as t
from tests.support.live import server
from tests.support.security import SECRET, app_client, gql, settings_with, token

REASONS = "{ reasons(kind: CANCELLATION) { code } }"


async def test_unexpected_error_is_masked_with_an_id_that_is_logged(
        orm: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def boom(*_: Any) -> Any:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(t.Reason, "of", boom)
    settings = settings_with()
    async with app_client(settings) as http:
        with caplog.at_level(logging.ERROR, logger="meetings.errors"):
            body = await gql(http, REASONS, bearer=token(settings))
    error = body["errors"][0]
    match = re.fullmatch(r"Unexpected server error \(id ([0-9a-f]{12})\)\.", error["message"])
    assert match, error
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "errorId": match[1]}
    assert "hunter2" not in json.dumps(body)
    records = [r for r in caplog.records if match[1] in r.getMessage()]
    assert records and records[0].exc_info and "hunter2" in str(records[0].exc_info[1])


async def test_readable_errors_stay_readable(orm: str) -> None:
    async with app_client(settings_with()) as http:
        unknown = await gql(http, "{ nope }")
        assert "Cannot query field 'nope'" in unknown["errors"][0]["message"]
        anonymous = await gql(http, REASONS)
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_cors_follows_the_allowlist(orm: str) -> None:
    settings = settings_with(environment="production", jwt_secret=SECRET,
                             cors_origins=["https://app.example"])
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    async with app_client(settings) as http:
        ok = await http.options("/graphql", headers={**preflight, "Origin": "https://app.example"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        bad = await http.options("/graphql", headers={**preflight, "Origin": "https://evil.example"})
        assert bad.status_code == 400 and "access-control-allow-origin" not in bad.headers
        simple = await http.post("/graphql", json={"query": "{ __typename }"},
                                 headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers
    async with app_client(settings_with(environment="production", jwt_secret=SECRET)) as http:
        none = await http.options("/graphql", headers={**preflight, "Origin": "https://app.example"})
        assert "access-control-allow-origin" not in none.headers


async def _handshake(base: str, origin: str | None, bearer: str | None = None,
                     protocol: str = "graphql-transport-ws") -> dict[str, Any]:
    payload = {"authorization": f"Bearer {bearer}"} if bearer else {}
    async with websockets.connect(f"ws://{base}/graphql", subprotocols=[protocol],  # type: ignore[list-item]
                                  origin=origin) as ws:  # type: ignore[arg-type]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        return json.loads(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[no-any-return]


async def test_websocket_origins_follow_the_allowlist(
        orm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("CORS_ORIGINS", "https://app.example")
    bearer = token(settings_with(jwt_secret=SECRET))
    with server(orm) as base:
        assert (await _handshake(base, "https://app.example", bearer))["type"] == "connection_ack"
        assert (await _handshake(base, None, bearer))["type"] == "connection_ack"  # not a browser
        same = await _handshake(base, f"http://{base}", bearer)
        assert same["type"] == "connection_ack"
        with pytest.raises(websockets.InvalidStatus) as refused:
            await _handshake(base, "https://evil.example", bearer)
        assert refused.value.response.status_code == 403


async def _refused(base: str, bearer: str | None, protocol: str) -> tuple[list[str], int]:
    """The messages received after connection_init until the server closes, and its code."""
    payload = {"authorization": f"Bearer {bearer}"} if bearer else {}
    received: list[str] = []
    async with websockets.connect(f"ws://{base}/graphql", subprotocols=[protocol],  # type: ignore[list-item]
                                  ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 10))["type"])
    assert closed.value.rcvd is not None
    return received, closed.value.rcvd.code


async def test_production_closes_websockets_without_a_valid_token_with_4403(
        orm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("JWT_SECRET", SECRET)
    forged = token(settings_with(jwt_secret="another-secret-that-is-long-enough-32"))
    with server(orm) as base:
        for protocol in ("graphql-transport-ws", "graphql-ws"):
            for bearer in (None, forged, "not-a-token"):
                received, code = await _refused(base, bearer, protocol)
                assert code == 4403, (protocol, bearer, code)
                assert "connection_ack" not in received
            ack = await _handshake(base, None, token(settings_with(jwt_secret=SECRET)),
                                   protocol)
            assert ack["type"] == "connection_ack"
