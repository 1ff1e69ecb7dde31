"""Every mutation in one transaction, and idempotency keys (`Idempotency-Key` header).

A mutation operation runs inside one database transaction (`core.db.transaction`: lock and
statement timeouts; once COMMIT succeeded nothing turns the answer into an error). The
resolvers' own transactions become savepoints inside it, and the answer (the payload
selection, loaded before COMMIT) is what was committed. When any error escapes a field
(an outage, a bug), the whole operation is rolled back and answered without data: a mutation
is applied exactly when its answer says so.

With an `Idempotency-Key` header (1–255 visible ASCII characters), the key is recorded in
that same transaction with the answer, per account: a retry of the same request within
IDEMPOTENCY_HOURS returns the recorded answer (response header `Idempotent-Replayed: true`)
and changes nothing; the same key with a different request is refused
(IDEMPOTENCY_KEY_REUSED). A retry racing the original waits for it on the key's unique index,
then replays its answer.
"""

import hashlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType
from tortoise.exceptions import IntegrityError

from core import clock
from core.db import transaction
from core.errors import PublicError, RequestErrorCode
from core.settings import Settings
from models.idempotency import IdempotencyKey

log = logging.getLogger("meetings.idempotency")
HEADER = "idempotency-key"


class _RolledBack(Exception):
    """Raised inside the transaction to roll it back after an error escaped a field."""


def _key_of(context: Any) -> str | None:
    request = getattr(context, "request", None)
    headers = getattr(request, "headers", None)
    if headers is None:
        return None
    key = headers.get(HEADER)
    if key is None:
        return None
    if not (1 <= len(key) <= 255 and key.isascii() and key.isprintable()):
        raise PublicError(RequestErrorCode.INVALID_IDEMPOTENCY_KEY,
                          "Idempotency-Key must be 1 to 255 visible ASCII characters.")
    return str(key)


def _request_hash(query: str | None, operation: str | None, variables: Any) -> str:
    body = orjson.dumps([query or "", operation or "", variables or {}],
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(body).hexdigest()


# Mutations that wait on another server (a calendar URL: seconds, at worst the fetch
# timeout) run without the operation's transaction: holding one meanwhile would keep a pooled
# connection idle in a transaction on PostgreSQL, and on SQLite stop every other request of
# the process. They write in short transactions of their own after the wait, and repeat
# safely without a key (adding the same URL again is refused; a refresh is a refresh).
OUTSIDE_CALLS = frozenset({"addBusyCalendar", "refreshBusyCalendar"})


def _root_fields(ec: Any) -> set[str]:
    document = getattr(ec, "graphql_document", None)
    if document is None:
        return set()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
                ec.operation_name is None or (definition.name is not None
                                              and definition.name.value == ec.operation_name)):
            return {s.name.value for s in definition.selection_set.selections
                    if isinstance(s, FieldNode)}
    return set()


class MutationTransaction(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context: Any = ec.context
        settings = getattr(context, "settings", None)
        if ec.operation_type is not OperationType.MUTATION or not isinstance(settings,
                                                                              Settings):
            yield
            return
        fields = _root_fields(ec)
        if fields and fields <= OUTSIDE_CALLS:
            yield
            return
        account = getattr(context, "account", None)
        # Unauthenticated mutations are refused anyway: there is no account to key them to.
        key = _key_of(context) if account is not None else None
        account_id: int = account.id if account is not None else 0
        digest = _request_hash(ec.query, ec.operation_name, ec.variables) if key else ""
        if key is not None:
            stored = await self._stored(account_id, key, settings)
            if stored is not None:
                self._replay(stored, digest)
                yield
                return
        yielded = False
        try:
            async with transaction(lock_timeout_ms=settings.db_lock_timeout_ms,
                                   statement_timeout_ms=settings.db_statement_timeout_ms):
                if key is not None:
                    # First, so that a concurrent retry waits here for this one to end.
                    await IdempotencyKey.create(account_id=account_id, key=key,
                                                request_hash=digest, response={},
                                                created_at=clock.now())
                yielded = True
                yield
                result = ec.result
                if not isinstance(result, GraphQLExecutionResult) or result.errors:
                    raise _RolledBack
                if key is not None:
                    await IdempotencyKey.filter(account_id=account_id, key=key).update(
                        response={"data": result.data})
        except _RolledBack:
            if isinstance(ec.result, GraphQLExecutionResult):
                ec.result.data = None  # nothing of it was applied
        except IntegrityError:
            if key is None or yielded:
                raise
            # The same key committed meanwhile (a concurrent retry): answer as it did.
            stored = await self._stored(account_id, key, settings)
            if stored is None:
                raise
            self._replay(stored, digest)
            yield

    async def _stored(self, account_id: int, key: str,
                      settings: Settings) -> IdempotencyKey | None:
        since = clock.now() - timedelta(hours=settings.idempotency_hours)
        row = await IdempotencyKey.get_or_none(account_id=account_id, key=key)
        if row is not None and row.created_at < since:
            await IdempotencyKey.filter(id=row.id).delete()  # expired: the key is free again
            return None
        return row

    def _replay(self, stored: IdempotencyKey, digest: str) -> None:
        ec = self.execution_context
        if stored.request_hash != digest:
            raise PublicError(RequestErrorCode.IDEMPOTENCY_KEY_REUSED,
                              "This Idempotency-Key was used for a different request.")
        ec.result = GraphQLExecutionResult(data=stored.response.get("data"), errors=None)
        response = getattr(ec.context, "response", None)
        if response is not None and hasattr(response, "headers"):
            response.headers["Idempotent-Replayed"] = "true"
        log.info("replayed the answer of idempotency key %r", stored.key)



