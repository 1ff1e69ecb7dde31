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
from models.enums import OutboxKind
from workers import actors

log = logging.getLogger(__name__)

QUEUE = actors.QUEUE

_broker: dramatiq.Broker | None = None


class TortoiseMiddleware(Middleware):
    """Opens the ORM on the actors' event loop as a worker boots, closes it on shutdown."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Before the worker's threads start (after AsyncIO's own hook started the loop): a
        # message taken at once must find the ORM open.
        thread = get_event_loop_thread()
        assert thread is not None, "the AsyncIO middleware must come first"
        thread.run_coroutine(db.init_db(self.database_url))

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        thread = get_event_loop_thread()
        if thread is not None:
            thread.run_coroutine(db.close_db())


def get_broker(settings: Settings | None = None) -> dramatiq.Broker | None:
    """The process's broker (built once), or None in the embedded default."""
    global _broker
    if _broker is not None:
        return _broker
    settings = settings or get_settings()
    if settings.redis_url is None:
        return None
    broker = RedisBroker(url=settings.redis_url, namespace=settings.dramatiq_namespace)
    broker.add_middleware(AsyncIO())
    broker.add_middleware(TortoiseMiddleware(settings.database_url))
    dramatiq.set_broker(broker)
    actors.bind(broker)
    _broker = broker
    return broker


def message_for(kind: OutboxKind, entry_id: int) -> dramatiq.Message[Any]:
    """The broker message that hands outbox row `entry_id` to its actor."""
    return actors.BY_KIND[kind].message(entry_id)


def use_broker(broker: dramatiq.Broker) -> None:
    """Makes `broker` the process's, actors bound to it (tests: a `StubBroker`)."""
    global _broker
    reset()
    actors.bind(broker)
    _broker = broker


def reset() -> None:
    """Forgets the broker (tests switch settings)."""
    global _broker
    if _broker is not None:
        _broker.close()
    _broker = None
    actors.unbind()
