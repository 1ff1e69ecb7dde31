"""GraphQL-level errors that clients may read (everything else is masked)."""

from typing import Any

from graphql import GraphQLError

from core.errors import ErrorCode, PublicError, RequestErrorCode


def request_error(code: ErrorCode | RequestErrorCode, message: str,
                  nodes: Any = None, *, retry_after: int | None = None) -> GraphQLError:
    """A readable GraphQL error for a request refused before it runs (limits, rate limit,
    no token). `retry_after` (seconds) lands in `extensions.retryAfter` (and the view's
    Retry-After header)."""
    original = PublicError(code, message)
    extensions: dict[str, Any] = dict(original.extensions)
    if retry_after is not None:
        extensions["retryAfter"] = retry_after
    return GraphQLError(message, nodes, original_error=original, extensions=extensions)


class InvalidValue(ValueError):
    """A scalar or argument value that cannot be read; its message is shown to the client."""
