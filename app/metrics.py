"""Prometheus metrics: the collectors, the GraphQL extension that feeds them, `/metrics`.

- `meetings_graphql_requests_total{operation, type}`: operations (type: query, mutation,
  subscription, unknown);
- `meetings_graphql_request_duration_seconds{operation}`: histogram, queries and mutations;
- `meetings_graphql_errors_total{code, source}`: `payload` (a mutation's UserError) or
  `graphql` (a GraphQL error's `extensions.code`);
- `meetings_live_subscriptions`: subscription operations running in this process;
- `meetings_outbox_backlog`: undelivered outbox rows, counted when scraped;
- `meetings_jobs_total{actor, outcome}`: conference_job, reminder, email.

Label values are bounded: an operation is named by its operation name (or `anonymous`),
truncated, and after `MAX_LABEL_VALUES` distinct names further ones count as `other`.
The worker process exposes its own registry on METRICS_PORT (`start_worker_metrics`).
"""

import logging
import time
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

log = logging.getLogger("meetings.metrics")

disable_created_metrics()  # no `_created` series next to every counter and histogram
MAX_LABEL_LENGTH = 64
MAX_LABEL_VALUES = 200

GRAPHQL_REQUESTS = Counter(
    "meetings_graphql_requests", "GraphQL operations, by operation name and type.",
    ["operation", "type"])
GRAPHQL_DURATION = Histogram(
    "meetings_graphql_request_duration_seconds",
    "Time to answer a GraphQL query or mutation, by operation name.", ["operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
GRAPHQL_ERRORS = Counter(
    "meetings_graphql_errors",
    "Errors by code: payload UserErrors of mutations and GraphQL errors' extensions.code.",
    ["code", "source"])
LIVE_SUBSCRIPTIONS = Gauge(
    "meetings_live_subscriptions", "Subscription operations running in this process.")
OUTBOX_BACKLOG = Gauge(
    "meetings_outbox_backlog", "Undelivered outbox rows (counted at scrape time).")
JOBS = Counter(
    "meetings_jobs", "Background jobs by actor and outcome.", ["actor", "outcome"])


class _BoundedLabels:
    """Truncates label values and caps how many distinct ones are used."""

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def __call__(self, value: str) -> str:
        value = value[:MAX_LABEL_LENGTH]
        if value in self.seen:
            return value
        if len(self.seen) >= self.limit:
            return "other"
        self.seen.add(value)
        return value


_operation_label = _BoundedLabels()
_code_label = _BoundedLabels(100)


def count_error(code: str, source: str) -> None:
    GRAPHQL_ERRORS.labels(_code_label(str(code)), source).inc()


def count_user_error(code: Any) -> None:
    """A mutation answered with a UserError in its payload."""
    count_error(getattr(code, "value", code), "payload")


def job_done(actor: str, outcome: str) -> None:
    JOBS.labels(actor, outcome).inc()


def _error_code(error: GraphQLError, result: Any) -> str:
    code = (error.extensions or {}).get("code")
    if code:
        return str(code)
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if isinstance(result, PreExecutionError):
        return "GRAPHQL_VALIDATION_FAILED"
    return "UNSPECIFIED"


def _count_result_errors(result: Any) -> None:
    for error in getattr(result, "errors", None) or ():
        count_error(_error_code(error, result), "graphql")


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
                name, kind = self._labels()
                GRAPHQL_REQUESTS.labels(name, kind).inc()
                if kind != "subscription":
                    GRAPHQL_DURATION.labels(name).observe(time.perf_counter() - started)
            if not self._streamed:
                _count_result_errors(self.execution_context.result)

    def on_execute(self) -> Iterator[None]:
        if self._type() == "subscription":
            self._live = True
            LIVE_SUBSCRIPTIONS.inc()
            GRAPHQL_REQUESTS.labels(self._labels()[0], "subscription").inc()
        yield

    def on_stream_result(self, result: Any) -> Iterator[None]:
        self._streamed = True
        yield
        _count_result_errors(result)

    def _type(self) -> str:
        if self.execution_context.graphql_document is None:
            return "unknown"
        try:
            kind: OperationType = self.execution_context.operation_type
        except Exception:  # noqa: BLE001 - an unknown operation name: counted as unknown
            return "unknown"
        return kind.value

    def _labels(self) -> tuple[str, str]:
        try:
            name = self.execution_context.operation_name
        except Exception:  # noqa: BLE001
            name = None
        return _operation_label(name or "anonymous"), self._type()


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


def start_worker_metrics(port: int | None) -> None:
    """The worker's own /metrics (its job counters) on METRICS_PORT, when set."""
    if port:
        from prometheus_client import start_http_server

        start_http_server(port)
        log.info("worker metrics on :%d/metrics", port)
