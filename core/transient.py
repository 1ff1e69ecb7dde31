"""Which failures are outages (worth a retry by the client), not bugs: the database or Redis
unreachable or restarting, a lock or statement timeout, a pool with no free connection, a
COMMIT whose outcome is unknown. They are answered SERVICE_UNAVAILABLE (retryable) instead
of INTERNAL_SERVER_ERROR."""

import sqlite3

import asyncpg
import redis.exceptions
from tortoise.exceptions import DBConnectionError

from core.db import CommitFailed

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
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
