"""The request context: the authenticated account, DataLoaders and settings, built once per
request (HTTP) or per connection (WebSocket). Who may see what is `resolvers/access.py`."""

from dataclasses import dataclass, field
from typing import Any

from core.settings import Settings, get_settings
from models.accounts import Account
from resolvers.loaders import Loaders


@dataclass
class Context:
    account: Account | None = None
    auth_error: str | None = None
    unavailable: str | None = None  # authentication hit an outage: answer, do not run
    settings: Settings = field(default_factory=get_settings)
    loaders: Loaders = field(default_factory=Loaders)
    request: Any = None
    response: Any = None
    connection_params: Any = None
