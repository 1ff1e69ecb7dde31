"""Error codes (SPEC §10) and the error whose message a client may read.

`ErrorCode` is the API's `ErrorCode` enum (mutation payloads and `extensions.code`);
`RequestErrorCode` names the codes that only ever appear in a GraphQL error's
`extensions.code`, for a request refused as a whole. No GraphQL here: graphql-core copies an
exception's `extensions` into the error it wraps it in.
"""

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


class RequestErrorCode(StrEnum):
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    BAD_USER_INPUT = "BAD_USER_INPUT"  # variables that cannot be coerced to their types
    BAD_REQUEST = "BAD_REQUEST"  # a request body that is not a GraphQL request (HTTP 400)
    # Retryable: a database or Redis outage, a lock or statement timeout. Nothing was applied
    # (or, for a mutation sent with an Idempotency-Key, a retry finds out without applying
    # it twice).
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"
    # Trusted documents (app/trusted_documents.py): a documentId the manifests do not hold;
    # any other document while TRUSTED_DOCUMENTS_ONLY is on.
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED"


class PublicError(Exception):
    """An error whose message is safe to show (everything else is masked); its code lands in
    the GraphQL error's `extensions.code`."""

    def __init__(self, code: ErrorCode | RequestErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def extensions(self) -> dict[str, str]:
        return {"code": self.code.value}
