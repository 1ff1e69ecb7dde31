"""Builds the Schema: the root types of schema/ with the app's extensions. HTTP operations do
not run through the extensions: app/operation.py takes the same steps as plain calls (a
quarter of a small query's time went to Strawberry's extension machinery). The extensions
serve the operations Strawberry's Schema runs itself (WebSockets). The parse and validation
caches live at module level (Strawberry's and schema/limits.py's), so the per-request
extension factories share them. Validation rules (depth, aliases) must be built once: a rule
built per request defeats the validation cache (817 vs 3,993 requests/s measured).

Errors are not logged by the schema: Strawberry's `process_errors` would log every validation
error at ERROR with the query in it (a flood any stranger can cause). Unexpected exceptions
are logged once, at ERROR with their error id, where they are masked (`mask`); the HTTP
endpoint logs one INFO line per request that has errors (app/graphql_http.py). Suggestions
("Did you mean") are hidden unless SUGGESTIONS is on: in validation by schema/limits.py, in
variable coercion by FastExecutor.build.
"""

import logging
import uuid
from collections.abc import Iterator
from datetime import datetime

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache, SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from app.idempotency import MutationTransaction
from app.metrics import GraphQLMetrics
from app.ratelimit import RateLimitMutations
from app.trusted_documents import TrustedDocuments
from core.errors import PublicError, RequestErrorCode
from core.transient import is_transient
from schema import types as t
from schema.errors import InvalidValue
from schema.executor import FastExecutor
from schema.limits import QueryLimits
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import DATETIME_SCALAR
from schema.subscription import Subscription
from subscriptions.relay import get_relay

log = logging.getLogger("meetings.errors")
RETRY_AFTER_SECONDS = 1


def should_mask(error: GraphQLError) -> bool:
    original = error.original_error
    # A variable's coercion error wraps the scalar's error in a second GraphQLError: look
    # through such wrappers to the exception that caused them.
    while isinstance(original, GraphQLError) and not isinstance(original, PublicError):
        original = original.original_error
    # Validation, parse and our own readable errors are shown; anything else is masked.
    return not (original is None or isinstance(original, PublicError | InvalidValue))


class MaskUnexpectedErrors(MaskErrors):
    """Masks what `should_mask` picks; the client gets an error id that the log line (with
    the stack trace) carries too, so that a report can be matched to its cause."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message="Unexpected server error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return mask(error)


def mask(error: GraphQLError) -> GraphQLError:
    """The client's copy of an unexpected error: a message with an error id, which the ERROR
    line logged here (with the stack trace) carries too."""
    error_id = uuid.uuid4().hex[:12]
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if is_transient(original):
        # An outage or a timeout, not a bug: nothing was applied, the client may retry.
        log.warning("service unavailable (id %s) in %s: %r", error_id, error.path, original,
                    extra={"error_id": error_id})
        # No path: the operation as a whole did not happen (a mutation is rolled back
        # whole), which graphql-response+json answers as a request error, HTTP 503.
        return GraphQLError(
            message=f"The service is briefly unavailable; retry (id {error_id}).",
            nodes=error.nodes, source=error.source, positions=error.positions,
            original_error=None,
            extensions={"code": RequestErrorCode.SERVICE_UNAVAILABLE.value, "errorId": error_id,
                        "retryable": True, "retryAfter": RETRY_AFTER_SECONDS})
    log.error("unexpected error (id %s) in %s", error_id, error.path, exc_info=original,
              extra={"error_id": error_id})
    return GraphQLError(
        message=f"Unexpected server error (id {error_id}).",
        nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
        original_error=None,
        extensions={"code": RequestErrorCode.INTERNAL_SERVER_ERROR.value, "errorId": error_id},
    )


def mask_unexpected(errors: list[GraphQLError]) -> list[GraphQLError]:
    """For errors that escaped MaskErrors (an exception raised by an extension's hook ends
    the operation before MaskErrors' after-hook sees a result)."""
    return [mask(e) if should_mask(e) else e for e in errors]


class MeetingsSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        """Logs nothing: see the module docstring."""


class ParseUnlessGiven(ParserCache):
    """Strawberry's parser cache, except for a document already given (trusted)."""

    def on_parse(self) -> Iterator[None]:
        if self.execution_context.graphql_document is not None:
            yield
            return
        yield from super().on_parse()


class PokeRelayAfterMutation(SchemaExtension):
    """After a mutation's transaction has committed, wake the relay so that its outbox rows
    are published at once instead of on the next tick."""

    def on_operation(self) -> Iterator[None]:
        yield
        relay = get_relay()
        if relay is not None and self.execution_context.operation_type is OperationType.MUTATION:
            relay.poke()


def build_schema() -> strawberry.Schema:
    return MeetingsSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map={datetime: DATETIME_SCALAR}),
        execution_context_class=FastExecutor,
        types=[t.Meeting, t.Account, t.ExpertService, t.CreditEntry, t.Notification, t.Message,
               t.Conversation],
        extensions=[
            GraphQLMetrics,  # first: its after-hooks run last, seeing the masked errors
            TrustedDocuments,  # a manifest's documents: no parse, no validation
            lambda: ParseUnlessGiven(maxsize=1024),
            QueryLimits,  # directives, then validation (cached), then the cost
            RateLimitMutations,
            MutationTransaction,  # inside the rate limit; the relay is poked after COMMIT
            PokeRelayAfterMutation,
            MaskUnexpectedErrors,
        ],
    )


schema = build_schema()
