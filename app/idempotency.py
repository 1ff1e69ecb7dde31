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

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from graphql import DocumentNode, FieldNode, OperationDefinitionNode
from graphql import ExecutionResult as GraphQLExecutionResult
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


@dataclass
class Outcome:
    """A mutation's answer: set by `mutation_transaction` when it is a replay (the caller then
    does not execute), otherwise by the caller once the operation has executed."""

    result: GraphQLExecutionResult | None = None


def root_fields(document: DocumentNode | None, operation_name: str | None) -> set[str]:
    """The root fields the named operation (or the first one) selects."""
    if document is None:
        return set()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
                operation_name is None or (definition.name is not None
                                           and definition.name.value == operation_name)):
            return {s.name.value for s in definition.selection_set.selections
                    if isinstance(s, FieldNode)}
    return set()


@contextlib.asynccontextmanager
async def mutation_transaction(context: Any, fields: set[str], query: str | None,
                               operation_name: str | None, variables: Any
                               ) -> AsyncIterator[Outcome]:
    """Runs what the caller does inside the block (execute the mutation, unless the outcome
    already holds a replayed answer) in the mutation's transaction; after the block the
    outcome holds the answer, its data None when it was rolled back. Raises PublicError for
    a malformed or reused Idempotency-Key."""
    outcome = Outcome()
    settings = getattr(context, "settings", None)
    if not isinstance(settings, Settings) or (fields and fields <= OUTSIDE_CALLS):
        yield outcome
        return
    account = getattr(context, "account", None)
    # Unauthenticated mutations are refused anyway: there is no account to key them to.
    key = _key_of(context) if account is not None else None
    account_id: int = account.id if account is not None else 0
    digest = _request_hash(query, operation_name, variables) if key else ""
    if key is not None:
        stored = await _stored(account_id, key, settings)
        if stored is not None:
            outcome.result = _replay(context, stored, digest)
            yield outcome
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
            yield outcome
            result = outcome.result
            if not isinstance(result, GraphQLExecutionResult) or result.errors:
                raise _RolledBack
            if key is not None:
                await IdempotencyKey.filter(account_id=account_id, key=key).update(
                    response={"data": result.data})
    except _RolledBack:
        if isinstance(outcome.result, GraphQLExecutionResult):
            outcome.result.data = None  # nothing of it was applied
    except IntegrityError:
        if key is None or yielded:
            raise
        # The same key committed meanwhile (a concurrent retry): answer as it did.
        stored = await _stored(account_id, key, settings)
        if stored is None:
            raise
        outcome.result = _replay(context, stored, digest)
        yield outcome


async def _stored(account_id: int, key: str, settings: Settings) -> IdempotencyKey | None:
    since = clock.now() - timedelta(hours=settings.idempotency_hours)
    row = await IdempotencyKey.get_or_none(account_id=account_id, key=key)
    if row is not None and row.created_at < since:
        await IdempotencyKey.filter(id=row.id).delete()  # expired: the key is free again
        return None
    return row


def _replay(context: Any, stored: IdempotencyKey, digest: str) -> GraphQLExecutionResult:
    if stored.request_hash != digest:
        raise PublicError(RequestErrorCode.IDEMPOTENCY_KEY_REUSED,
                          "This Idempotency-Key was used for a different request.")
    response = getattr(context, "response", None)
    if response is not None and hasattr(response, "headers"):
        response.headers["Idempotent-Replayed"] = "true"
    log.info("replayed the answer of idempotency key %r", stored.key)
    return GraphQLExecutionResult(data=stored.response.get("data"), errors=None)


class MutationTransaction(SchemaExtension):
    """`mutation_transaction` for operations run through Strawberry's Schema (WebSockets;
    HTTP calls it from app/operation.py)."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if ec.operation_type is not OperationType.MUTATION:
            yield
            return
        async with mutation_transaction(ec.context, root_fields(ec.graphql_document,
                                                                ec.operation_name),
                                        ec.query, ec.operation_name, ec.variables) as outcome:
            if outcome.result is not None:
                ec.result = outcome.result  # a replay: Strawberry does not execute
            yield
            outcome.result = ec.result  # type: ignore[assignment]
        ec.result = outcome.result
