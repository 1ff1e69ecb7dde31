"""Settings from the environment. Defaults run the embedded mode: SQLite, no Redis, no SMTP."""

import hashlib
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = "sqlite://meetings.sqlite3"
    redis_url: str | None = None
    jwt_secret: str = "dev-secret-change-me-please-32-bytes!"
    jwt_jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    conference_provider: Literal["jitsi", "zoom"] = "jitsi"
    jitsi_host: str = "https://meet.jit.si"
    smtp_url: str | None = None
    smtp_from: str = "Meetings <no-reply@meetings.local>"
    # Conferencing: Jitsi (optional JWT) and Zoom Server-to-Server OAuth.
    jitsi_app_id: str = "meetings"
    jitsi_app_secret: str | None = None
    zoom_api_url: str = "https://api.zoom.us"
    zoom_oauth_url: str = "https://zoom.us"
    zoom_account_id: str = ""
    zoom_client_id: str = ""
    zoom_client_secret: str = ""
    zoom_user_id: str = "me"
    zoom_timeout_seconds: float = 10.0
    # Background work: retries with exponential backoff, the sweeps' period, the queue.
    # Every mutation runs in one transaction that gives up on a row lock held this long and
    # on a statement running this long (PostgreSQL), answering SERVICE_UNAVAILABLE.
    db_lock_timeout_ms: int = 3000
    db_statement_timeout_ms: int = 8000
    # Waiting for a free pooled connection, and a whole HTTP request, end after these.
    db_pool_acquire_timeout_seconds: float = 5.0
    request_timeout_seconds: float = 15.0
    # A keyed mutation's answer is replayed to retries with the same key for this long.
    idempotency_hours: int = 24
    # How old a meetingChanged position may be and still be replayed (else: resync).
    live_replay_hours: float = 24.0
    conference_attempts: int = 5
    conference_backoff_seconds: float = 2.0
    # A conference job handed to the broker and not done within this is handed on again
    # (a Redis loss drops queued messages; the job is idempotent).
    conference_job_deadline_seconds: float = 30.0
    email_attempts: int = 6
    email_backoff_seconds: float = 60.0
    email_max_age_hours: int = 24
    worker_interval_seconds: float = 5.0
    dramatiq_namespace: str = "meetings"
    late_cancellation_hours: int = 48
    reminder_before_minutes: int = 1440
    link_before_minutes: int = 60
    user_late_cancellation: Literal["charge", "refund"] = "charge"
    environment: Literal["development", "production"] = "development"
    graphiql: bool | None = None
    introspection: bool | None = None
    # "Did you mean …?" in error messages (fields, arguments, types, enum values): a map of
    # the schema for whoever asks, so on only in development unless set.
    suggestions: bool | None = None
    max_page_size: int = 100
    # Security: JWT clock skew; query limits checked before execution; request body size;
    # browser origins allowed for CORS and WebSocket handshakes (comma-separated, `*` = any;
    # empty = any in development, none in production); per-account mutation budget in Redis.
    jwt_leeway_seconds: int = 30
    max_query_depth: int = 10
    max_query_aliases: int = 20
    max_query_tokens: int = 2000
    max_query_cost: int = 5000
    max_query_directives: int = 50
    max_body_bytes: int = 65536
    cors_origins: Annotated[list[str], NoDecode] = []
    # Trusted documents (app/trusted_documents.py): manifests of persisted operations
    # (comma-separated paths, e.g. a client build's persisted-documents.json); with
    # TRUSTED_DOCUMENTS_ONLY every other document is refused.
    trusted_documents: Annotated[list[str], NoDecode] = []
    trusted_documents_only: bool = False
    rate_limit_mutations: int = 120
    # Accounts with the admin role (the payment system's token) have a budget of their own;
    # 0 = not limited.
    rate_limit_admin_mutations: int = 6000
    rate_limit_window_seconds: int = 60
    # Budgets are keyed by the token's `sub` under this prefix; unset, the prefix names the
    # deployment (a digest of DATABASE_URL), so deployments sharing a Redis do not share.
    rate_limit_prefix: str | None = None
    # Operations: log format (`console` in development, `json` in production unless set),
    # the worker's Prometheus port (the API serves /metrics itself), and how long `meetings
    # serve` lets in-flight requests finish after SIGTERM.
    log_format: Literal["console", "json"] | None = None
    log_level: str = "INFO"
    metrics_port: int | None = None
    graceful_shutdown_seconds: int = 30

    # Calendars. PUBLIC_URL is the API's address as calendar apps reach it (feed links;
    # default: the address of the request). CALENDAR_FEED_KEY derives the feed secrets from
    # their stored nonces (default: JWT_SECRET); changing it changes every feed's URL.
    # Busy calendars: fetched every BUSY_CALENDAR_REFRESH_MINUTES, within the limits below;
    # in production only https:// and public addresses, unless BUSY_CALENDAR_ALLOW_HTTP and
    # BUSY_CALENDAR_ALLOWED_NETWORKS (CIDRs, comma-separated) say otherwise.
    public_url: str | None = None
    calendar_feed_key: str | None = None
    calendar_feed_refresh_minutes: int = 15
    busy_calendar_refresh_minutes: int = 15
    busy_calendar_horizon_days: int = 90
    busy_calendar_max_bytes: int = 5_000_000
    busy_calendar_timeout_seconds: float = 10.0
    busy_calendar_max_redirects: int = 5
    busy_calendar_max_per_account: int = 20
    busy_calendar_allow_http: bool | None = None
    busy_calendar_ca_file: str | None = None  # extra CA certificates (PEM), e.g. a company's
    busy_calendar_allowed_networks: Annotated[list[str] | None, NoDecode] = None

    @field_validator("busy_calendar_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return [n.strip() for n in value.split(",") if n.strip()]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("trusted_documents", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip() for p in value.split(",") if p.strip()]
        return value

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def graphiql_enabled(self) -> bool:
        if self.graphiql is not None:
            return self.graphiql
        return self.environment == "development"

    @property
    def allowed_origins(self) -> list[str]:
        if self.cors_origins:
            return self.cors_origins
        return ["*"] if self.environment == "development" else []

    @property
    def log_renderer(self) -> Literal["console", "json"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.environment == "production" else "console"

    @property
    def busy_calendar_http_allowed(self) -> bool:
        if self.busy_calendar_allow_http is not None:
            return self.busy_calendar_allow_http
        return self.environment == "development"

    @property
    def busy_calendar_networks(self) -> list[str]:
        """Networks fetched from even when not public: all of them in development."""
        if self.busy_calendar_allowed_networks is not None:
            return self.busy_calendar_allowed_networks
        return ["0.0.0.0/0", "::/0"] if self.environment == "development" else []

    @property
    def suggestions_enabled(self) -> bool:
        if self.suggestions is not None:
            return self.suggestions
        return self.environment == "development"

    @property
    def anonymous_allowed(self) -> bool:
        """Production refuses requests without a valid token before reading their query."""
        return self.environment == "development"

    @property
    def rate_limit_key_prefix(self) -> str:
        if self.rate_limit_prefix:
            return self.rate_limit_prefix
        digest = hashlib.sha256(self.database_url.encode()).hexdigest()[:12]
        return f"meetings:ratelimit:{digest}"

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.environment == "development"


@lru_cache
def get_settings() -> Settings:
    return Settings()
