"""Prometheus collectors (fed by `app/metrics.py`'s GraphQL extension and by the workers).

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

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from core.errors import ErrorCode

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
LIVE_EVENT_EXECUTIONS = Counter(
    "meetings_live_event_executions",
    "Subscription events completed, executed for the subscriber or shared (one execution "
    "for every subscriber with the same event, viewer, document and variables).",
    ["shared"])
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


operation_label = _BoundedLabels()
_code_label = _BoundedLabels(100)


def count_error(code: str, source: str) -> None:
    GRAPHQL_ERRORS.labels(_code_label(str(code)), source).inc()


def count_user_error(code: ErrorCode) -> None:
    """A mutation answered with a UserError in its payload."""
    count_error(code.value, "payload")


def job_done(actor: str, outcome: str) -> None:
    JOBS.labels(actor, outcome).inc()


def start_worker_metrics(port: int | None) -> None:
    """The worker's own /metrics (its job counters) on METRICS_PORT, when set."""
    if port:
        from prometheus_client import start_http_server

        start_http_server(port)
        log.info("worker metrics on :%d/metrics", port)
