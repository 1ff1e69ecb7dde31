"""What a GraphQL result looks like on the wire: the media type a client asked for, and the
HTTP status of a result under application/graphql-response+json (GraphQL over HTTP).

Under `application/json` every GraphQL result is 200, as before. Under
`application/graphql-response+json` a *request error* — the operation did not run, so the
result has no `data` and no error has a `path`: parse, validation, variable coercion, limits,
UNAUTHENTICATED before execution, RATE_LIMITED — answers a 4xx/5xx status without a `data`
entry; a result with `data` (even null after a field error) stays 200.

`REQUEST_ERROR_STATUS` is the one table from an error's `extensions.code` to the status of a
request error; codes not listed answer 400. A `retryAfter` in an error's extensions becomes
the `Retry-After` header.
"""

from collections.abc import Sequence
from typing import Any

from graphql import GraphQLError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"

REQUEST_ERROR_STATUS: dict[str, int] = {
    "UNAUTHENTICATED": 401,
    "RATE_LIMITED": 429,
    "INTERNAL_SERVER_ERROR": 500,
    "SERVICE_UNAVAILABLE": 503,  # an outage or a timeout: retry (Retry-After)
    "IDEMPOTENCY_KEY_REUSED": 422,
}
DEFAULT_REQUEST_ERROR_STATUS = 400


def media_type_for(accept: str | None) -> str:
    """graphql-response+json when the client lists it at least as high as application/json
    (a missing Accept, `*/*` or application/json alone get application/json)."""
    if not accept or GRAPHQL_RESPONSE_JSON not in accept:
        return APPLICATION_JSON
    weights: dict[str, float] = {}
    for part in accept.split(","):
        kind, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        weights[kind.strip().lower()] = quality
    wanted = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    if wanted > 0 and wanted >= weights.get(APPLICATION_JSON, 0.0):
        return GRAPHQL_RESPONSE_JSON
    return APPLICATION_JSON


def is_request_error(data: Any, errors: Sequence[GraphQLError] | None) -> bool:
    return data is None and bool(errors) and all(e.path is None for e in errors or ())


def code_of(error: GraphQLError) -> str | None:
    code = (error.extensions or {}).get("code")
    return str(code) if code is not None else None


def request_error_status(errors: Sequence[GraphQLError]) -> int:
    for error in errors:
        status = REQUEST_ERROR_STATUS.get(code_of(error) or "")
        if status is not None:
            return status
    return DEFAULT_REQUEST_ERROR_STATUS


def retry_after(errors: Sequence[GraphQLError] | None) -> int | None:
    seconds = [value for e in errors or ()
               if isinstance(value := (e.extensions or {}).get("retryAfter"), int)]
    return max(seconds) if seconds else None
