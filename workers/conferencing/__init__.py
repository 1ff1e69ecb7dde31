"""Video-conference providers (SPEC §4 S5, S6): one small interface, Jitsi by default, Zoom.

A provider creates, moves and deletes the conference of a meeting window and answers with
the join URL and its own id. `TransientError` is worth retrying (timeouts, 5xx, 429);
`PermanentError` is not.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from core.settings import Settings


@dataclass(frozen=True)
class Window:
    meeting_id: int
    starts_at: datetime
    ends_at: datetime
    topic: str = "Meeting"


@dataclass(frozen=True)
class Conference:
    join_url: str
    external_id: str


class ProviderError(Exception):
    pass


class TransientError(ProviderError):
    pass


class PermanentError(ProviderError):
    pass


class Provider(Protocol):
    name: str

    async def create(self, window: Window) -> Conference: ...

    async def move(self, external_id: str, window: Window) -> Conference | None:
        """Moves the conference; None when its join URL stays the same."""
        ...

    async def delete(self, external_id: str) -> None: ...

    def host_url(self, conference: Conference, window: Window) -> str:
        """The URL the expert joins with (moderator rights where the provider has them)."""
        ...


def get_provider(name: str | None, settings: Settings) -> Provider:
    from workers.conferencing.jitsi import JitsiProvider
    from workers.conferencing.zoom import ZoomProvider

    if (name or settings.conference_provider) == "zoom":
        return ZoomProvider(settings)
    return JitsiProvider(settings)
