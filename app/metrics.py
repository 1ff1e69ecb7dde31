"""The GraphQL extension that feeds the collectors of `core/metrics.py`, and `/metrics`."""

import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from core.errors import RequestErrorCode
from core.metrics import (
    GRAPHQL_DURATION,
    GRAPHQL_REQUESTS,
    LIVE_SUBSCRIPTIONS,
    OUTBOX_BACKLOG,
    count_error,
    operation_label,
)

log = logging.getLogger("meetings.metrics")


def error_code(error: GraphQLError, result: Any) -> str:
    """`extensions.code`, or what kind of request error it is (parse, validation, variable
    coercion)."""
    code = (error.extensions or {}).get("code")
    if code:
        return str(code)
    if isinstance(error, GraphQLSyntaxError):
        return RequestErrorCode.GRAPHQL_PARSE_FAILED
    if isinstance(result, PreExecutionError):
        return RequestErrorCode.GRAPHQL_VALIDATION_FAILED
    if error.path is None and getattr(result, "data", None) is None:
        return RequestErrorCode.BAD_USER_INPUT  # the variables could not be coerced
    return "UNSPECIFIED"


def count_result_errors(result: Any) -> None:
    for error in getattr(result, "errors", None) or ():
        count_error(error_code(error, result), "graphql")


# The labelled children by (bounded label, type): `labels()` takes a lock and builds a key on
# every call, which is a few per cent of a small query.
_children: dict[tuple[str, str], tuple[Any, Any]] = {}


def count_operation(name: object, kind: str, seconds: float | None) -> None:
    """One operation, by name (`anonymous` without one) and type; `seconds` is its duration
    (not for subscriptions)."""
    label = operation_label(name if isinstance(name, str) and name else "anonymous")
    children = _children.get((label, kind))
    if children is None:
        children = _children[(label, kind)] = (GRAPHQL_REQUESTS.labels(label, kind),
                                               GRAPHQL_DURATION.labels(label))
    children[0].inc()
    if seconds is not None:
        children[1].observe(seconds)


class GraphQLMetrics(SchemaExtension):
    """Counts and times operations, counts their errors (as the client sees them: list it
    before MaskErrors, whose after-hook then runs first) and the live subscriptions.
    Instantiated per operation by Strawberry; does constant work per operation."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self._live = False
        self._streamed = False
        try:
            yield
        finally:
            if self._live:
                LIVE_SUBSCRIPTIONS.dec()
            else:
                kind = self._type()
                count_operation(self._name(), kind, None if kind == "subscription"
                                else time.perf_counter() - started)
            if not self._streamed:
                count_result_errors(self.execution_context.result)

    def on_execute(self) -> Iterator[None]:
        if self._type() == "subscription":
            self._live = True
            LIVE_SUBSCRIPTIONS.inc()
            count_operation(self._name(), "subscription", None)
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        yield
        count_result_errors(result)

    def _type(self) -> str:
        if self.execution_context.graphql_document is None:
            return "unknown"
        try:
            kind: OperationType = self.execution_context.operation_type
        except Exception:  # noqa: BLE001 - an unknown operation name: counted as unknown
            return "unknown"
        return kind.value

    def _name(self) -> object:
        try:
            return self.execution_context.operation_name
        except Exception:  # noqa: BLE001
            return None


async def refresh_outbox_backlog() -> None:
    from models.outbox import OutboxEntry

    try:
        OUTBOX_BACKLOG.set(await OutboxEntry.filter(delivered_at__isnull=True).count())
    except Exception as exc:  # noqa: BLE001 - a scrape must not fail with the database
        log.warning("outbox backlog unavailable: %s", exc)
        OUTBOX_BACKLOG.set(float("nan"))


async def metrics_endpoint(_: Request) -> Response:
    await refresh_outbox_backlog()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


