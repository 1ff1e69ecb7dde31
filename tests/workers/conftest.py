"""Fixtures of the worker tests: `env` with quick conference retries, and a local Zoom-speaking
HTTP server (Starlette under uvicorn, in a thread). `smtp` comes from tests/conftest.py."""

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest
import uvicorn

from tests.support.peers import FakeZoom
from tests.support.ports import free_port
from workers.conferencing import zoom
from workers.conferencing.relay import relay_conference_jobs


@pytest.fixture
def env(env: Callable[..., None]) -> Callable[..., None]:
    """tests/conftest.py's `env`, with quick conference retries for the worker tests."""
    env(conference_backoff_seconds=0.01, conference_attempts=3)
    return env


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
