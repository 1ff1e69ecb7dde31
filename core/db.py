"""Tortoise configuration, shared by the server, the worker, the CLI and the tests; and the
transaction every mutation runs in."""

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

from tortoise import Tortoise
from tortoise.backends.asyncpg.client import TransactionWrapper
from tortoise.backends.base.client import (
    BaseDBAsyncClient,
    NestedTransactionContext,
    TransactionContext,
    TransactionContextPooled,
)
from tortoise.backends.base_postgres.client import translate_exceptions
from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

log = logging.getLogger("meetings.db")

MODEL_MODULES = [
    "models.accounts",
    "models.meetings",
    "models.ledger",
    "models.availability",
    "models.chat",
    "models.notifications",
    "models.outbox",
    "models.deliveries",
    "models.calendars",
    "models.idempotency",
]


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


class _AcquireTimeout:
    """An asyncpg pool whose `acquire()` gives up after `timeout` seconds (asyncpg waits for
    ever by default, and Tortoise passes none): a request waiting for a connection while
    every one is held ends with a TimeoutError, answered SERVICE_UNAVAILABLE."""

    def __init__(self, pool: Any, timeout: float) -> None:  # noqa: ASYNC109
        self._pool = pool
        self._timeout = timeout

    async def acquire(self, *, timeout: float | None = None) -> Any:  # noqa: ASYNC109
        # Not `acquire(timeout=…)`: asyncpg runs a timed acquire through wait_for, one more
        # Task for every statement outside a transaction. (Tortoise only awaits acquire().)
        async with asyncio.timeout(timeout or self._timeout):
            return await self._pool.acquire()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


async def _keep_session(_connection: Any) -> None:
    """asyncpg's reset on release, minus its query. asyncpg still rolls back a transaction
    left open before calling this; its default then sends `SELECT pg_advisory_unlock_all();
    CLOSE ALL; UNLISTEN *; RESET ALL` — one more round trip at the end of every request,
    for session state this application never creates (no session SET, LISTEN, advisory
    lock or cursor outside a transaction: timeouts are startup settings or SET LOCAL)."""


async def _bound_postgres(statement_timeout_ms: int, acquire_timeout_seconds: float) -> None:
    from tortoise import connections

    client: Any = connections.get("default")
    if not is_postgres(client):
        return
    if statement_timeout_ms:
        # Every statement of every connection, reads included; mutations set their own
        # (SET LOCAL) in core.db.transaction.
        client.server_settings["statement_timeout"] = str(int(statement_timeout_ms))
    create_pool = client.create_pool

    async def bounded_pool(**kwargs: Any) -> Any:
        kwargs.setdefault("reset", _keep_session)
        pool = await create_pool(**kwargs)
        return _AcquireTimeout(pool, acquire_timeout_seconds) if acquire_timeout_seconds \
            else pool

    client.create_pool = bounded_pool
    if client._pool is not None:  # made before the settings above: made again on first use
        await client.close()


async def init_db(database_url: str) -> None:
    from core.settings import get_settings

    # The global fallback lets resolvers, actors and CLI commands share one initialised ORM
    # without entering a TortoiseContext each (a plain init leaves "No TortoiseContext").
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    settings = get_settings()
    await _bound_postgres(settings.db_statement_timeout_ms,
                          settings.db_pool_acquire_timeout_seconds)


async def migrate(database_url: str) -> None:
    from tortoise.migrations.api.migrate import migrate as run_migrations

    await run_migrations(config=tortoise_config(database_url))


async def model_changes() -> list[Any]:
    """Migrations the models need beyond those on disk (Tortoise's autodetector), as writers
    not yet written: empty when the migrations match the models. It binds the models to an
    in-memory SQLite database: run it in a process of its own (`meetings makemigrations`)."""
    from tortoise.context import TortoiseContext
    from tortoise.migrations.autodetector import MigrationAutodetector

    config = tortoise_config("sqlite://:memory:")
    async with TortoiseContext() as context:
        await context.init(config=config)
        assert context.apps is not None
        return await MigrationAutodetector(context.apps, config["apps"]).changes()


async def close_db() -> None:
    await Tortoise.close_connections()


class CommitFailed(Exception):
    """COMMIT itself failed: whether the transaction was applied is unknown (the connection
    may have dropped after the server committed). A retry with the same idempotency key
    finds out without applying it twice."""


def is_postgres(client: BaseDBAsyncClient) -> bool:
    return client.capabilities.dialect == "postgres"


# The request's deadline (`app.shutdown.Deadlines`), when the transaction runs in a request.
REQUEST_DEADLINE: contextvars.ContextVar[asyncio.Timeout | None] = contextvars.ContextVar(
    "request_deadline", default=None)


async def _past_the_deadline_no_more() -> None:
    """Right before COMMIT: a deadline that has fired ends the transaction here (rolled
    back), one that has not is lifted — a cancellation landing while COMMIT is on the wire
    would answer "nothing was applied" for a transaction that was."""
    deadline = REQUEST_DEADLINE.get()
    if deadline is None:
        return
    if deadline.expired():
        await asyncio.sleep(0)  # the pending cancellation is delivered here, before COMMIT
        return
    deadline.reschedule(None)


class _OperationTransaction(TransactionWrapper):
    """The operation's transaction on PostgreSQL, in fewer round trips than Tortoise's.

    * BEGIN, the SET LOCAL timeouts and a first savepoint go as one simple-query script.
    * The first nested transaction (a resolver's `in_transaction()`) takes that savepoint
      when no statement ran since BEGIN, so a lone mutation pays no SAVEPOINT of its own.
    * A savepoint that ends without an error is not RELEASEd: COMMIT ends it with the rest,
      and savepoint names are unique, so rolling back to an outer one still works.
    asyncpg's Transaction objects are not used: they send each of these on its own."""

    def __init__(self, parent: BaseDBAsyncClient, opening: str) -> None:
        super().__init__(cast(Any, parent))
        self._opening = opening
        self._untouched_savepoint: str | None = _FIRST_SAVEPOINT
        self._savepoints = 0

    def acquire_connection(self) -> Any:
        self._untouched_savepoint = None  # a statement runs: later writes are not before it
        return super().acquire_connection()

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(_Savepoint(self))

    def next_savepoint(self) -> tuple[str, bool]:
        """A savepoint name for a nested transaction, and whether it still has to be sent."""
        name, self._untouched_savepoint = self._untouched_savepoint, None
        if name is not None:
            return name, False
        self._savepoints += 1
        return f"{_FIRST_SAVEPOINT}_{self._savepoints}", True

    @translate_exceptions
    async def begin(self) -> None:
        await self._connection.execute(self._opening)

    async def commit(self) -> None:
        await self._finish("COMMIT")

    async def rollback(self) -> None:
        await self._finish("ROLLBACK")

    async def _finish(self, statement: str) -> None:
        if self._finalized:
            raise TransactionManagementError("Transaction already finalised")
        self._finalized = True
        await self._connection.execute(statement)


class _Savepoint(TransactionWrapper):
    """A nested transaction of `_OperationTransaction` (see there)."""

    def __init__(self, outer: _OperationTransaction) -> None:
        super().__init__(cast(Any, outer))
        self._outer = outer
        self._name = ""

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(_Savepoint(self._outer))

    @translate_exceptions
    async def begin(self) -> None:
        self._name, send = self._outer.next_savepoint()
        if send:
            await self._connection.execute(f"SAVEPOINT {self._name}")

    async def commit(self) -> None:
        self._finalized = True  # no RELEASE: see _OperationTransaction

    async def rollback(self) -> None:
        self._finalized = True
        await self._connection.execute(f"ROLLBACK TO SAVEPOINT {self._name}")


_FIRST_SAVEPOINT = "operation_field"


def _opening(lock_timeout_ms: int, statement_timeout_ms: int) -> str:
    # 0 leaves the server's (or the connection's) setting.
    settings = [f"SET LOCAL {name} = {int(value)}; "
                for name, value in (("lock_timeout", lock_timeout_ms),
                                    ("statement_timeout", statement_timeout_ms)) if value]
    return f"BEGIN; {''.join(settings)}SAVEPOINT {_FIRST_SAVEPOINT}"


def _operation_transaction(lock_timeout_ms: int, statement_timeout_ms: int
                           ) -> TransactionContext:
    from tortoise import connections

    client: Any = connections.get("default")
    if not is_postgres(client) or isinstance(client, TransactionWrapper):
        return in_transaction()
    return TransactionContextPooled(
        _OperationTransaction(client, _opening(lock_timeout_ms, statement_timeout_ms)),
        client._pool_init_lock)


@contextlib.asynccontextmanager
async def transaction(*, lock_timeout_ms: int = 0,
                      statement_timeout_ms: int = 0) -> AsyncIterator[BaseDBAsyncClient]:
    """`in_transaction()`, with two differences.

    * On PostgreSQL, `lock_timeout` and `statement_timeout` hold for this transaction only
      (SET LOCAL, sent with BEGIN; 0 leaves the server's default): a locked row or a slow
      statement ends the transaction with an error instead of holding the request for
      ever. Nested transactions cost fewer round trips (`_OperationTransaction`).
    * Once COMMIT has succeeded, nothing can turn it into an error: a failure to give the
      connection back to the pool afterwards is logged, not raised. A failing COMMIT raises
      `CommitFailed`.
    """
    context = _operation_transaction(lock_timeout_ms, statement_timeout_ms)
    client = await context.__aenter__()
    try:
        yield client
    except BaseException as exc:
        await context.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    await _past_the_deadline_no_more()
    try:
        await client.commit()
    except BaseException as exc:
        with contextlib.suppress(Exception):
            await context.__aexit__(type(exc), exc, exc.__traceback__)
        if isinstance(exc, Exception):
            raise CommitFailed(str(exc)) from exc
        raise
    try:
        await context.__aexit__(None, None, None)  # committed: only the release is left
    except Exception:  # noqa: BLE001 - the work is done; the pool replaces a bad connection
        log.warning("releasing a connection after COMMIT failed", exc_info=True)
