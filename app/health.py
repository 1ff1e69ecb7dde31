"""`/healthz` (liveness: the process serves HTTP) and `/readyz` (readiness: the database
answers a trivial query and, when REDIS_URL is set, Redis answers PING).

`/readyz` answers 200 with `{"status": "ok", "checks": {...}}` when every check passes,
503 with `"status": "unavailable"` when one fails (or the process is shutting down), each
check naming its outcome and time. Errors are named by their class only: the endpoint is
meant for a load balancer or an orchestrator, not for people.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse

from core.settings import Settings

CHECK_TIMEOUT_SECONDS = 2.0


async def healthz(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def _database() -> None:
    from tortoise import connections

    await connections.get("default").execute_query("SELECT 1")


class Readiness:
    """The checks of one app; holds one Redis client (closed with the app)."""

    def __init__(self, settings: Settings,
                 shutting_down: Callable[[], bool] | None = None) -> None:
        self.settings = settings
        self.shutting_down = shutting_down or (lambda: False)
        self._redis: Any = None

    async def _redis_ping(self) -> None:
        if self._redis is None:
            import redis.asyncio as redis

            self._redis = redis.Redis.from_url(
                str(self.settings.redis_url), socket_timeout=CHECK_TIMEOUT_SECONDS,
                socket_connect_timeout=CHECK_TIMEOUT_SECONDS, max_connections=2)
        if not await self._redis.ping():
            raise ConnectionError("PING failed")

    async def check(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Callable[[], Awaitable[None]]] = {"database": _database}
        if self.settings.redis_url:
            checks["redis"] = self._redis_ping
        names = list(checks)
        outcomes = await asyncio.gather(*(self._timed(checks[n]) for n in names))
        report = dict(zip(names, outcomes, strict=True))
        if self.shutting_down():
            report["shutdown"] = {"ok": False, "error": "ShuttingDown"}
        return all(r["ok"] for r in report.values()), report

    @staticmethod
    async def _timed(check: Callable[[], Awaitable[None]]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any failure makes the check fail
            return {"ok": False, "error": type(exc).__name__,
                    "ms": round((time.perf_counter() - started) * 1000, 1)}
        return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}

    async def endpoint(self, _: Request) -> JSONResponse:
        ok, checks = await self.check()
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    async def close(self) -> None:
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.aclose()
