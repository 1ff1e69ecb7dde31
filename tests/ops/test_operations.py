"""Operations: readiness, Prometheus metrics, structured logs with request ids, graceful
shutdown. In-process where that shows the behaviour, real uvicorn processes (and a private
redis-server) where it needs a real server: signals, stderr, a Redis that goes away."""

import asyncio
import base64
import contextlib
import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
import websockets
from graphql import GraphQLError
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.auth import make_token
from app.schema import MaskUnexpectedErrors
from core.metrics import start_worker_metrics
from core.observability import build_formatter
from core.settings import get_settings
from models.outbox import OutboxEntry
from tests.support.client import party
from tests.support.clock import T0
from tests.support.live import ROOT, RedisServer, subscriber
from tests.support.ports import free_port, wait_port

NOTIFICATIONS = "subscription { notificationReceived { kind title } }"
UNKNOWN_MEETING = base64.b64encode(b"Meeting:987654321").decode()
needs_redis = pytest.mark.skipif(
    not (shutil.which("redis-server") or os.path.exists("/usr/bin/redis-server")),
    reason="needs redis-server")


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """The samples called `name` in a Prometheus text exposition."""
    return [(dict(s.labels), s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name]


def sample(text: str, name: str, **labels: str) -> float | None:
    for have, value in samples(text, name):
        if all(have.get(k) == v for k, v in labels.items()):
            return value
    return None


class Live:
    """A uvicorn process of the app, its stderr (JSON log lines) kept in a file."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process, self.port, self.log = process, port, log
        self.base = f"127.0.0.1:{port}"
        self.url = f"http://{self.base}"

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for raw in self.log.read_text().splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(raw))
        return lines

    async def metrics(self) -> str:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(f"{self.url}/metrics")
        response.raise_for_status()
        return response.text


@contextlib.contextmanager
def live_server(database_url: str, log: Path, redis_url: str | None = None) -> Iterator[Live]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_FORMAT": "json"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.asgi:create_app", "--factory",
             "--port", str(port), "--log-level", "info", "--timeout-graceful-shutdown", "10"],
            cwd=ROOT, env=env, stderr=stderr)
    try:
        wait_port(port)
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).raise_for_status()
        yield Live(process, port, log)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
async def no_backlog(orm: str) -> None:
    """In-process tests ran no relay: mark their rows delivered so that a live server does
    not start by publishing the suite's history."""
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    redis = RedisServer()
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@contextlib.asynccontextmanager
async def notifications(base: str) -> AsyncIterator[Any]:
    token = make_token(get_settings(), f"t-{uuid.uuid4().hex[:10]}")
    async with subscriber(base, token) as ws:
        await ws.subscribe(NOTIFICATIONS)
        yield ws


async def wait_for_gauge(live: Live, name: str, value: float, timeout: float = 10) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        seen = sample(await live.metrics(), name)
        if seen == value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{name} is {seen}, not {value}")
        await asyncio.sleep(0.1)


# --- health --------------------------------------------------------------------------------

async def test_healthz_and_readyz_with_the_database(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).text == "ok"
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert ("redis" in body["checks"]) == bool(get_settings().redis_url)


@needs_redis
async def test_readyz_checks_redis_and_fails_when_it_is_down(
        orm: str, no_backlog: None, redis_server: RedisServer, tmp_path: Path) -> None:
    with live_server(orm, tmp_path / "stderr.log", redis_server.url) as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["redis"]["ok"] is True
            assert ready.json()["checks"]["database"]["ok"] is True

            redis_server.stop()
            down = await http.get("/readyz")
            assert down.status_code == 503, down.text
            body = down.json()
            assert body["status"] == "unavailable"
            assert body["checks"]["redis"]["ok"] is False
            assert body["checks"]["redis"]["error"]
            assert body["checks"]["database"]["ok"] is True
            assert (await http.get("/healthz")).status_code == 200  # alive, not ready


# --- metrics -------------------------------------------------------------------------------

async def test_metrics_count_operations_by_name_and_errors_by_code(
        client: httpx.AsyncClient) -> None:
    user = await party(client)
    before = await client.get("/metrics")
    not_found_before = sample(before.text, "meetings_graphql_errors_total",
                              code="NOT_FOUND", source="payload") or 0

    body = await user.raw("query OpsViewerName { viewer { account { id } } }")
    assert not body.get("errors"), body
    failed = await user.raw(
        "mutation OpsConfirm($input: MeetingRefInput!) { confirmMeeting(input: $input) "
        "{ errors { code } } }", {"input": {"meetingId": UNKNOWN_MEETING}})
    assert failed["data"]["confirmMeeting"]["errors"] == [{"code": "NOT_FOUND"}]
    invalid = await user.raw("query OpsInvalid { noSuchField }")
    assert invalid["errors"]

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "meetings_graphql_requests_total",
                  operation="OpsViewerName", type="query") == 1
    assert sample(text, "meetings_graphql_requests_total",
                  operation="OpsConfirm", type="mutation") == 1
    assert sample(text, "meetings_graphql_request_duration_seconds_count",
                  operation="OpsViewerName") == 1
    assert sample(text, "meetings_graphql_errors_total",
                  code="NOT_FOUND", source="payload") == not_found_before + 1
    assert (sample(text, "meetings_graphql_errors_total",
                   code="GRAPHQL_VALIDATION_FAILED", source="graphql") or 0) >= 1
    # Anonymous operations are labelled as such.
    await user.raw("{ viewer { account { id } } }")
    assert (sample((await client.get("/metrics")).text, "meetings_graphql_requests_total",
                   operation="anonymous", type="query") or 0) >= 1


async def test_graphql_error_codes_are_counted(client: httpx.AsyncClient) -> None:
    # No token: the viewer is required, the error carries extensions.code.
    before = samples((await client.get("/metrics")).text, "meetings_graphql_errors_total")
    response = await client.post("/graphql", json={"query": "{ viewer { account { id } } }"})
    codes = [e.get("extensions", {}).get("code") for e in response.json()["errors"]]
    assert codes and codes[0]
    after = (await client.get("/metrics")).text
    was = next((v for labels, v in before
                if labels == {"code": codes[0], "source": "graphql"}), 0)
    assert sample(after, "meetings_graphql_errors_total", code=codes[0],
                  source="graphql") == was + 1


async def test_outbox_backlog_gauge_counts_undelivered_rows(
        client: httpx.AsyncClient, no_backlog: None) -> None:
    assert sample((await client.get("/metrics")).text, "meetings_outbox_backlog") == 0
    from models.enums import OutboxKind

    await OutboxEntry.create(kind=OutboxKind.NOTIFICATION, payload={"notification_id": 0,
                                                                    "account_id": 0},
                             created_at=T0)
    assert sample((await client.get("/metrics")).text, "meetings_outbox_backlog") == 1
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)


async def test_jobs_are_counted_by_actor_and_outcome(orm: str) -> None:
    from workers.conferencing.jobs import run_conference_job

    labels = {"actor": "conference_job", "outcome": "gone"}
    before = REGISTRY.get_sample_value("meetings_jobs_total", labels) or 0
    assert await run_conference_job(987654321, "delete") == "gone"
    assert REGISTRY.get_sample_value("meetings_jobs_total", labels) == before + 1

    port = free_port()  # the worker's own endpoint (METRICS_PORT)
    start_worker_metrics(port)
    async with httpx.AsyncClient(timeout=10) as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    assert sample(text, "meetings_jobs_total", **labels) == before + 1


async def test_live_subscriptions_gauge_follows_open_subscriptions(
        orm: str, no_backlog: None, tmp_path: Path) -> None:
    with live_server(orm, tmp_path / "stderr.log") as live:
        assert sample(await live.metrics(), "meetings_live_subscriptions") == 0
        async with notifications(live.base):
            await wait_for_gauge(live, "meetings_live_subscriptions", 1)
            text = await live.metrics()
            assert sample(text, "meetings_graphql_requests_total", operation="anonymous",
                          type="subscription") == 1
        await wait_for_gauge(live, "meetings_live_subscriptions", 0)


# --- logs ----------------------------------------------------------------------------------

async def test_request_id_is_echoed_and_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "ops-given-1"})
    assert given.headers["x-request-id"] == "ops-given-1"
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    insane = await client.get("/healthz", headers={"X-Request-ID": "a b\tc" * 50})
    assert insane.headers["x-request-id"] != "a b\tc" * 50


async def test_json_log_lines_carry_the_request_id(
        orm: str, no_backlog: None, tmp_path: Path) -> None:
    request_id = f"ops-{uuid.uuid4().hex}"
    with live_server(orm, tmp_path / "stderr.log") as live:
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
            response = await http.post(
                "/graphql", json={"query": "query OpsLogged { __typename }"},
                headers={"X-Request-ID": request_id})
        assert response.headers["x-request-id"] == request_id
        deadline = time.monotonic() + 10
        while not any(line.get("request_id") == request_id for line in live.log_lines()):
            assert time.monotonic() < deadline, live.log.read_text()
            await asyncio.sleep(0.1)
    lines = live.log_lines()
    assert lines, "the server logs JSON lines on stderr"
    ours = [line for line in lines if line.get("request_id") == request_id]
    assert all({"event", "level", "timestamp", "logger"} <= set(line) for line in ours)
    assert any(line["logger"] == "uvicorn.access" for line in ours)
    # Library lines (uvicorn's) are JSON as well.
    assert any(line.get("logger") == "uvicorn.error" for line in lines)


def test_masked_error_log_line_carries_request_and_error_ids() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(build_formatter("json"))
    logger = logging.getLogger("meetings.errors")
    logger.addHandler(handler)
    try:
        with structlog.contextvars.bound_contextvars(request_id="ops-masked-1"):
            masked = MaskUnexpectedErrors().anonymise_error(
                GraphQLError("boom", original_error=RuntimeError("boom")))
    finally:
        logger.removeHandler(handler)
    error_id = masked.extensions["errorId"]  # type: ignore[index]
    line = json.loads(stream.getvalue().splitlines()[0])
    assert line["request_id"] == "ops-masked-1"
    assert line["error_id"] == error_id
    assert line["level"] == "error"
    assert "RuntimeError: boom" in line["exception"]


# --- graceful shutdown ---------------------------------------------------------------------

async def test_sigterm_closes_websockets_with_going_away_and_exits_cleanly(
        orm: str, no_backlog: None, tmp_path: Path) -> None:
    with live_server(orm, tmp_path / "stderr.log") as live:
        async with notifications(live.base) as ws:
            await wait_for_gauge(live, "meetings_live_subscriptions", 1)
            live.process.send_signal(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.receive(timeout=15)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001
        assert await asyncio.to_thread(live.process.wait, 20) == 0
    events = [line.get("event", "") for line in live.log_lines()]
    assert any("going away" in e for e in events)
    assert any("Application shutdown complete" in e for e in events)
