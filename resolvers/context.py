"""The request context: the authenticated account, DataLoaders and settings, built once per
request (HTTP) or per connection (WebSocket)."""

from dataclasses import dataclass, field
from typing import Any

from app.settings import Settings, get_settings
from models.accounts import Account
from resolvers.loaders import Loaders
from schema.errors import PublicError


@dataclass
class Context:
    account: Account | None = None
    auth_error: str | None = None
    settings: Settings = field(default_factory=get_settings)
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    response: Any = None
    connection_params: Any = None

    @property
    def viewer(self) -> Account:
        if self.account is None:
            raise PublicError(self.auth_error or "Authentication required.", "UNAUTHENTICATED")
        return self.account
