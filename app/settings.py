"""Settings from the environment. Defaults run the embedded mode: SQLite, no Redis, no SMTP."""

from functools import lru_cache
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


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
    late_cancellation_hours: int = 48
    reminder_before_minutes: int = 1440
    link_before_minutes: int = 60
    user_late_cancellation: Literal["charge", "refund"] = "charge"
    environment: Literal["development", "production"] = "development"
    graphiql: bool | None = None
    introspection: bool | None = None
    max_page_size: int = 100

    @property
    def embedded(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def graphiql_enabled(self) -> bool:
        if self.graphiql is not None:
            return self.graphiql
        return self.environment == "development"

    @property
    def introspection_enabled(self) -> bool:
        if self.introspection is not None:
            return self.introspection
        return self.environment == "development"


@lru_cache
def get_settings() -> Settings:
    return Settings()
