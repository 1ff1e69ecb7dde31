"""Real servers for live tests: uvicorn processes, private redis-servers, and a minimal
graphql-transport-ws / graphql-ws client."""

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import websockets

from app.websocket_protocol import UVICORN_WS
from tests.support.ports import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]




@contextlib.contextmanager
def server(database_url: str, redis_url: str | None = None, *,
           settings: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """A `uvicorn` process serving the app; yields its base URL. `settings` are extra
    environment variables; with `log`, its stderr (every log line, access log included)
    goes to that file."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, **(settings or {})}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
        # Its conference jobs go to a queue of its own: on a shared Redis another run's
        # worker would take them.
        env.setdefault("DRAMATIQ_NAMESPACE", f"meetings-test-{uuid.uuid4().hex[:8]}")
    stderr = log.open("wb") if log is not None else None
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.asgi:create_app", "--factory",
         "--port", str(port), "--log-level", "info" if log is not None else "warning",
         "--ws", UVICORN_WS],
        cwd=ROOT, env=env, stderr=stderr)
    if stderr is not None:
        stderr.close()  # the child has its own copy
    try:
        wait_port(port)
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).raise_for_status()
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class RedisServer:
    """A private redis-server on a free port, to stop and start at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class Subscriber:
    """One WebSocket connection speaking graphql-transport-ws (or legacy graphql-ws)."""

    def __init__(self, ws: Any, legacy: bool) -> None:
        self.ws, self.legacy, self.next_id = ws, legacy, 1

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        op_id = str(self.next_id)
        self.next_id += 1
        await self.ws.send(json.dumps({
            "id": op_id, "type": "start" if self.legacy else "subscribe",
            "payload": {"query": query, "variables": variables or {}}}))
        return op_id

    async def receive(self, timeout: float = 10.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The next data or error message (pings are answered and skipped)."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
            if message["type"] in ("ping", "ka"):
                if message["type"] == "ping":
                    await self.ws.send(json.dumps({"type": "pong"}))
                continue
            return message  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def subscriber(base: str, token: str | None, *, legacy: bool = False
                     ) -> AsyncIterator[Subscriber]:
    protocol = "graphql-ws" if legacy else "graphql-transport-ws"
    async with websockets.connect(f"ws://{base}/graphql", subprotocols=[protocol]) as ws:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        while True:
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if ack["type"] != "ka":
                break
        assert ack["type"] == "connection_ack", ack
        yield Subscriber(ws, legacy)
