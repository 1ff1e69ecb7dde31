"""Fixtures of the worker tests: settings from the environment, a real SMTP server
(aiosmtpd) and a local Zoom-speaking HTTP server (Starlette under uvicorn, in a thread)."""

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller

from core.settings import get_settings
from tests.support.peers import FakeZoom, Inbox
from tests.support.ports import free_port
from workers.conferencing import zoom
from workers.conferencing.relay import relay_conference_jobs


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
