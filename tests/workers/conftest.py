"""Fixtures of the worker tests: settings from the environment, a real SMTP server
(aiosmtpd) and a local Zoom-speaking HTTP server (Starlette under uvicorn, in a thread)."""

import asyncio
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.settings import get_settings
from workers.conferencing import zoom
from workers.conferencing.relay import relay_conference_jobs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def env() -> Iterator[Callable[..., None]]:
    """`env(smtp_url=..., ...)`: sets settings through the environment for one test."""
    saved: dict[str, str | None] = {}

    def set_env(**values: Any) -> None:
        for key, value in values.items():
            name = key.upper()
            saved.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = str(value)
        get_settings.cache_clear()

    set_env(conference_backoff_seconds=0.01, conference_attempts=3)
    yield set_env
    for name, old in saved.items():
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
    get_settings.cache_clear()


# --- SMTP ---------------------------------------------------------------------------------

@dataclass
class Inbox:
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[bytes]:
        return [data for rcpts, data in self.messages if address in rcpts]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# --- Zoom ---------------------------------------------------------------------------------

@dataclass
class FakeZoom:
    """Speaks the Zoom endpoints we use and checks what it receives."""

    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: int = 0  # answer this many next API calls with HTTP 500
    delay: float = 0.0  # answer API calls this late (to force client timeouts)
    tokens_issued: int = 0
    expire_token: bool = False  # answer the next API call with 401
    next_id: int = 9000
    errors: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        async def token(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            q = request.query_params
            if not auth.startswith("Basic ") or q.get("grant_type") != "account_credentials" \
                    or q.get("account_id") != "acct-1":
                self.errors.append(f"bad token request {auth!r} {dict(q)}")
                return JSONResponse({"reason": "bad"}, status_code=400)
            self.tokens_issued += 1
            return JSONResponse({"access_token": f"tok-{self.tokens_issued}",
                                 "token_type": "bearer", "expires_in": 3599})

        async def api(request: Request) -> Response:
            body = await request.json() if request.method in ("POST", "PATCH") else {}
            self.requests.append((request.method, request.url.path, body))
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.failures > 0:
                self.failures -= 1
                return JSONResponse({"message": "boom"}, status_code=500)
            if request.headers.get("authorization") != f"Bearer tok-{self.tokens_issued}" \
                    or self.expire_token:
                self.expire_token = False
                return JSONResponse({"code": 124, "message": "Invalid access token"},
                                    status_code=401)
            if request.method == "POST":
                if request.path_params["user"] != "host@example.com":
                    return JSONResponse({"message": "no user"}, status_code=404)
                if body.get("type") != 2 or not body.get("start_time", "").endswith("Z"):
                    self.errors.append(f"bad create body {body}")
                self.next_id += 1
                mid = str(self.next_id)
                self.meetings[mid] = {**body, "id": int(mid),
                                      "join_url": f"https://zoom.test/j/{mid}"}
                return JSONResponse(self.meetings[mid], status_code=201)
            mid = request.path_params["id"]
            if mid not in self.meetings:
                return JSONResponse({"code": 3001, "message": "not found"}, status_code=404)
            if request.method == "PATCH":
                self.meetings[mid].update(body)
                return Response(status_code=204)
            del self.meetings[mid]
            return Response(status_code=204)

        return Starlette(routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/v2/users/{user}/meetings", api, methods=["POST"]),
            Route("/v2/meetings/{id}", api, methods=["PATCH", "DELETE"]),
        ])


@pytest.fixture
async def fake_zoom(env: Callable[..., None]) -> AsyncIterator[FakeZoom]:
    fake = FakeZoom()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the fake Zoom server did not start"
        await asyncio.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}"
    env(conference_provider="zoom", zoom_api_url=fake.url, zoom_oauth_url=fake.url,
        zoom_account_id="acct-1", zoom_client_id="cid", zoom_client_secret="secret",
        zoom_user_id="host@example.com", zoom_timeout_seconds=0.5)
    zoom.clear_token_cache()
    try:
        yield fake
        # Tests run jobs directly: the relay now takes their outbox rows, while the fake
        # still answers, so that no later test meets a Zoom meeting without a Zoom.
        fake.failures, fake.delay = 0, 0.0
        await relay_conference_jobs(in_process=True)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        zoom.clear_token_cache()
