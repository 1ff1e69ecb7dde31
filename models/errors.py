"""Domain error codes (SPEC §10). The GraphQL enum mirrors this one; the codes live here."""

from enum import StrEnum


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_STATE = "INVALID_STATE"
    MEETING_ALREADY_STARTED = "MEETING_ALREADY_STARTED"
    DATE_IN_PAST = "DATE_IN_PAST"
    OUTSIDE_AVAILABILITY = "OUTSIDE_AVAILABILITY"
    INSUFFICIENT_CREDITS = "INSUFFICIENT_CREDITS"
    INVALID_REASON = "INVALID_REASON"
    LATE_CANCELLATION_NOT_ACKNOWLEDGED = "LATE_CANCELLATION_NOT_ACKNOWLEDGED"
    ALTERNATIVE_PENDING = "ALTERNATIVE_PENDING"
    SELF_BOOKING = "SELF_BOOKING"
    STALE_VERSION = "STALE_VERSION"


class DomainError(Exception):
    """A refused action. Raised inside the transaction, so nothing it began is written."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
