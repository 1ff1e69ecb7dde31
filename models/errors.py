"""The refused action of the domain (SPEC §10); its codes are `core.errors.ErrorCode`."""

from core.errors import ErrorCode, PublicError


class DomainError(PublicError):
    """A refused action. Raised inside the transaction, so nothing it began is written.
    Mutations answer it in their payload's `errors`; elsewhere it is a readable GraphQL
    error."""

    code: ErrorCode

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(code, message)
        self.field = field
