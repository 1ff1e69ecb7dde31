"""The Dramatiq broker: Redis when REDIS_URL is set; without it (the embedded default) there is
no broker and the same work runs in-process (`workers.embedded`).

Actors are async (the AsyncIO middleware runs them on one event loop thread per worker
process) and Tortoise is initialised on that loop when the worker boots.
"""

import logging
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, Middleware

from core import db
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

QUEUE = "meetings"

_broker: RedisBroker | None = None
_actors: dict[str, dramatiq.Actor[Any, Any]] = {}


class TortoiseMiddleware(Middleware):
    """Opens the ORM on the actors' event loop when a worker boots, closes it on shutdown."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        assert thread is not None, "the AsyncIO middleware must come first"
        thread.run_coroutine(db.init_db(self.database_url))

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        if thread is not None:
            thread.run_coroutine(db.close_db())


async def _conference_job(meeting_id: int, op: str) -> None:
    from workers.conferencing.jobs import run_conference_job

    assert op in ("create_or_move", "delete")
    outcome = await run_conference_job(meeting_id, op)  # type: ignore[arg-type]
    # Logged, not returned: there is no result backend to keep a return value.
    log.info("conference job %s for meeting %s: %s", op, meeting_id, outcome)


def get_broker(settings: Settings | None = None) -> RedisBroker | None:
    """The process's broker (built once), or None in the embedded default."""
    global _broker
    settings = settings or get_settings()
    if settings.redis_url is None:
        return None
    if _broker is None:
        broker = RedisBroker(url=settings.redis_url, namespace=settings.dramatiq_namespace)
        broker.add_middleware(AsyncIO())
        broker.add_middleware(TortoiseMiddleware(settings.database_url))
        dramatiq.set_broker(broker)
        # Provider errors are retried inside the job; Dramatiq retries anything else
        # (a database outage, a crash), which the job's idempotence makes safe.
        _actors["conference_job"] = dramatiq.actor(
            broker=broker, actor_name="conference_job", queue_name=QUEUE,
            max_retries=5, min_backoff=1_000, max_backoff=60_000)(_conference_job)
        _broker = broker
    return _broker


def actor(name: str) -> dramatiq.Actor[Any, Any]:
    if get_broker() is None:
        raise RuntimeError("no broker: REDIS_URL is not set")
    return _actors[name]


def reset() -> None:
    """Forgets the broker (tests switch settings)."""
    global _broker
    if _broker is not None:
        _broker.close()
    _broker = None
    _actors.clear()
