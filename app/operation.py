"""One GraphQL operation, from the request's document to its result, in one place: what
Strawberry's Schema.execute did over eight schema extensions for HTTP (a context manager, a
hook lookup and a generator per extension and phase; about a quarter of a small query's
time), as plain calls in the order they ran there:

1. the document: a trusted manifest's own text gets its parsed and validated document; any
   other text is looked up in a cache keyed by the text under the limits (parsed once; the
   directive limit and validation checked once, when first needed). TRUSTED_DOCUMENTS_ONLY
   refuses texts no manifest holds;
2. the operation: named (or the first), of a type the method allows;
3. what depends on the variables: NUL characters, the cost of the lists (schema/limits.py);
4. a mutation: the rate limit, then its transaction (Idempotency-Key, app/idempotency.py)
   around execution; the relay is poked after COMMIT;
5. graphql-core's `execute` with the schema's executor class (schema/executor.py), no
   middleware;
6. unexpected errors masked (app/schema.py), the operation and its errors counted.

Strawberry's Schema stays the source of the GraphQLSchema, its types and resolvers (field
extensions such as `@mutation` run inside execution), and runs WebSocket operations with
the same checks as extensions (app/schema.py).
"""

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeGuard, cast

from cross_web import HTTPException
from graphql import (
    DocumentNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    specified_rules,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

import schema.limits as limits
from app import idempotency, ratelimit, trusted_documents
from app.metrics import count_operation, count_result_errors
from app.schema import mask_unexpected, schema
from core.settings import Settings
from resolvers.context import Context
from schema.errors import request_error
from subscriptions.relay import get_relay

# What each HTTP method may run (Strawberry's OperationType.from_http).
ALLOWED: dict[str, frozenset[OperationType]] = {
    "GET": frozenset({OperationType.QUERY, OperationType.SUBSCRIPTION}),
    "POST": frozenset({OperationType.QUERY, OperationType.MUTATION,
                       OperationType.SUBSCRIPTION}),
}
DOCUMENT_CACHE_SIZE = 1024
Result = GraphQLExecutionResult | PreExecutionError
# Strawberry's: a fast path for the plain values most fields return.
_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


@dataclass(slots=True)
class Document:
    """A text's parse (or its syntax error), and once checked its verdict: the errors of the
    directive limit and validation, [] when it may run."""

    node: DocumentNode | None
    parse_error: GraphQLError | None = None
    verdict: list[GraphQLError] | None = None


# Texts' documents, one cache per set of limits (the token limit, the rules, suggestions,
# the directive limit: everything the parse and the verdict depend on), each a dict in
# insertion order whose oldest entry goes when it is full.
_documents: dict[tuple[Any, ...], dict[str, Document]] = {}
# A settings object's cache, by its identity (held, so that the id is not reused).
_caches: dict[int, tuple[Settings, dict[str, Document]]] = {}


def _cache_for(settings: Settings) -> dict[str, Document]:
    hit = _caches.get(id(settings))
    if hit is not None and hit[0] is settings:
        return hit[1]
    limits_key = (settings.max_query_tokens, limits.rules_for(settings),
                  settings.suggestions_enabled, settings.max_query_directives)
    cache = _documents.setdefault(limits_key, {})
    if len(_caches) >= 64:
        _caches.clear()
    _caches[id(settings)] = (settings, cache)
    return cache
_trusted: dict[str, Document] = {}  # by a trusted document's id


def rules_of(settings: Settings) -> tuple[Any, ...]:
    """The validation rules of a request (Strawberry's default ones, then the limits)."""
    return _rules(limits.rules_for(settings))


_rule_sets: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _rules(limit_rules: tuple[Any, ...]) -> tuple[Any, ...]:
    # One tuple per set of limit rules: validate_cached's cache is keyed by it.
    rules = _rule_sets.get(limit_rules)
    if rules is None:
        rules = _rule_sets[limit_rules] = (*specified_rules, *limit_rules)
    return rules


def document_for(query: str, settings: Settings) -> Document:
    """The document of a text: a trusted document's (already validated), or the cached
    parse. Raises the TRUSTED_DOCUMENT_REQUIRED error when only trusted documents are
    accepted and the text is none of them (up to formatting and order)."""
    manifest = trusted_documents.manifest_for(settings)
    if manifest is not None:
        exact = manifest.by_text.get(query)
        if exact is not None:
            known = _trusted.get(exact.id)
            if known is None or known.node is not exact.document:
                known = _trusted[exact.id] = Document(exact.document, verdict=[])
            return known
    if settings.trusted_documents_only and (manifest is None
                                            or manifest.for_text(query) is None):
        raise request_error(trusted_documents.REQUIRED, trusted_documents.ONLY_TRUSTED)
    cache = _cache_for(settings)
    document = cache.get(query)
    if document is None:
        try:
            document = Document(parse(query, max_tokens=settings.max_query_tokens))
        except GraphQLError as error:
            document = Document(None, parse_error=error)
        if len(cache) >= DOCUMENT_CACHE_SIZE:
            del cache[next(iter(cache))]
        cache[query] = document
    return document


def verdict(document: Document, settings: Settings) -> list[GraphQLError]:
    """The directive limit and validation errors of a parsed document (checked once)."""
    if document.verdict is None:
        assert document.node is not None
        document.verdict = limits.document_errors(schema._schema, document.node,
                                                  rules_of(settings), settings)
    return document.verdict


def operation_of(node: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    """The operation a request runs: the one named, or the document's first."""
    for definition in node.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
                name is None or (definition.name is not None
                                 and definition.name.value == name)):
            return definition
    return None


def _coerce(error: Exception) -> GraphQLError:
    return error if isinstance(error, GraphQLError) else GraphQLError(str(error),
                                                                      original_error=error)


async def run(context: Context, method: str, query: str | None, variables: dict[str, Any] | None,
              operation_name: str | None, extensions: dict[str, Any] | None) -> Result:
    """The result of one operation (errors masked). Raises HTTPException (400) where the
    request names no runnable operation: no query, an unknown operation name, or an
    operation type the method does not allow."""
    started = time.perf_counter()
    settings = context.settings
    node: DocumentNode | None = None
    kind = "unknown"
    result: Result | None = None
    try:
        if not query:
            raise HTTPException(400, "No GraphQL query found in the request")
        try:
            document = document_for(query, settings)
        except GraphQLError as refused:
            result = PreExecutionError(data=None, errors=[refused])
            return result
        if document.node is None:
            assert document.parse_error is not None
            result = PreExecutionError(data=None, errors=[document.parse_error])
            return result
        node = document.node
        operation = operation_of(node, operation_name)
        # Strawberry named the first operation when the request named none: graphql-core
        # then runs it even in a document of several.
        if operation_name is None and operation is not None and operation.name is not None:
            operation_name = operation.name.value
        if operation is None:
            raise HTTPException(400, CannotGetOperationTypeError(
                operation_name).as_http_error_reason())
        operation_type = OperationType(operation.operation.value)
        kind = operation_type.value
        if operation_type not in ALLOWED[method]:
            raise HTTPException(400, InvalidOperationTypeError(
                operation_type).as_http_error_reason(method))
        errors = verdict(document, settings) or limits.request_errors(
            schema._schema, node, operation_name, variables, settings)
        if errors:
            result = PreExecutionError(data=None, errors=errors)
        elif operation_type is OperationType.MUTATION:
            result = await _mutate(context, node, query, operation_name, variables, extensions)
        else:
            result = await _execute(context, node, operation_name, variables, extensions)
        if result.errors:
            result.errors = mask_unexpected(result.errors)
        return result
    finally:
        count_operation(operation_name, kind, None if kind == "subscription"
                        else time.perf_counter() - started)
        if result is not None:
            count_result_errors(result)


async def _execute(context: Context, node: DocumentNode, operation_name: str | None,
                   variables: dict[str, Any] | None, extensions: dict[str, Any] | None
                   ) -> GraphQLExecutionResult:
    try:
        result = execute(schema._schema, node, context_value=context,
                         variable_values=variables, operation_name=operation_name,
                         executor_class=schema.execution_context_class,
                         is_awaitable=_is_awaitable, operation_extensions=extensions)
        if inspect.isawaitable(result):
            result = await result
    except Exception as error:  # noqa: BLE001 - answered (masked), as Strawberry did
        return GraphQLExecutionResult(data=None, errors=[_coerce(error)])
    assert isinstance(result, GraphQLExecutionResult)
    return result


async def _mutate(context: Context, node: DocumentNode, query: str,
                  operation_name: str | None, variables: dict[str, Any] | None,
                  extensions: dict[str, Any] | None) -> Result:
    """The rate limit, then the transaction around execution; the relay poked afterwards,
    so that the outbox rows committed are published at once instead of on its next tick."""
    try:
        refused = await ratelimit.refusal(context, node, operation_name)
        async with idempotency.mutation_transaction(
                context, idempotency.root_fields(node, operation_name), query, operation_name,
                variables) as outcome:
            if outcome.result is None:
                outcome.result = (
                    GraphQLExecutionResult(data=None, errors=[refused]) if refused is not None
                    else await _execute(context, node, operation_name, variables, extensions))
        result: Result | None = outcome.result
    except Exception as error:  # noqa: BLE001 - answered (masked), as Strawberry did
        result = PreExecutionError(data=None, errors=[_coerce(error)])
    relay = get_relay()
    if relay is not None:
        relay.poke()
    assert result is not None
    return result
