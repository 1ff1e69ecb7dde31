"""The embedded default: the worker's periodic sweeps in the server's own process.

Conference jobs run in-process here (no broker), whether or not REDIS_URL is set; the ORM
must already be open (the server's lifespan opens it)."""

import asyncio

from core.settings import get_settings
from workers.sweeps import sweep_forever


async def run_embedded(stop: asyncio.Event) -> None:
    """Sweeps every WORKER_INTERVAL_SECONDS until `stop` is set."""
    await sweep_forever(stop, get_settings().worker_interval_seconds, in_process=True)
