"""GraphQL-level errors that clients may read (everything else is masked)."""

from graphql import GraphQLError


class PublicError(GraphQLError):
    """An error whose message is safe to show; `code` lands in `extensions`."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


class InvalidValue(ValueError):
    """A scalar or argument value that cannot be read; its message is shown to the client."""
