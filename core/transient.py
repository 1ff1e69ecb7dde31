"""Which failures are outages (worth a retry by the client), not bugs: the database or Redis
unreachable or restarting, a lock or statement timeout, a pool with no free connection, a
COMMIT whose outcome is unknown. They are answered SERVICE_UNAVAILABLE (retryable) instead
of INTERNAL_SERVER_ERROR."""

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import redis.exceptions
from tortoise.exceptions import DBConnectionError

from core.db import CommitFailed

log = logging.getLogger("meetings.transient")
T = TypeVar("T")

_TRANSIENT: tuple[type[BaseException], ...] = (
    CommitFailed,
    DBConnectionError,
    ConnectionError,
    OSError,  # refused, reset, unreachable
    TimeoutError,  # a pool acquire or a request that ran out of time
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.OperatorInterventionError,  # 57xxx: canceled (timeout), shutdown
    asyncpg.exceptions.LockNotAvailableError,  # lock_timeout
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.InsufficientResourcesError,  # 53xxx: too many connections
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def is_transient(exc: BaseException | None) -> bool:
    """True when `exc`, or an exception it was raised from, is an outage."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, _TRANSIENT):
            return True
        if isinstance(exc, asyncpg.exceptions.InterfaceError) and "closed" in str(exc):
            return True  # the connection went away under a query
        if isinstance(exc, asyncpg.exceptions.InternalClientError) and (
                "in progress" in str(exc)):
            return True  # a pooled connection left mid-operation by a server restart
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


async def retry_transient(work: Callable[[], Awaitable[T]], *, what: str,
                          first_delay: float = 0.1, max_delay: float = 5.0) -> T:
    """`work()`, again and again with exponential backoff while it fails with an outage (a
    live subscription waits out a database restart instead of ending); anything else is
    raised at once."""
    delay = first_delay
    while True:
        try:
            return await work()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("%s: %r; retrying in %.1fs", what, exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
