"""GraphQL-level errors that clients may read (everything else is masked)."""

from typing import Any

from graphql import GraphQLError

from core.errors import ErrorCode, PublicError, RequestErrorCode


def request_error(code: ErrorCode | RequestErrorCode, message: str,
                  nodes: Any = None) -> GraphQLError:
    """A readable GraphQL error for a request refused before it runs (limits, rate limit)."""
    return GraphQLError(message, nodes, original_error=PublicError(code, message))


class InvalidValue(ValueError):
    """A scalar or argument value that cannot be read; its message is shown to the client."""
