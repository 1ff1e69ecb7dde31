"""Jitsi: URL-based rooms. The room name is unguessable; with JITSI_APP_SECRET set, the URL
carries a signed HS256 JWT valid for the meeting window (expert as moderator in the host URL).
"""

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

import jwt

from core.settings import Settings
from workers.conferencing import Conference, Window

# Participants may join a little before the start and stay a little after the end.
MARGIN = timedelta(minutes=15)


class JitsiProvider:
    name = "jitsi"

    def __init__(self, settings: Settings) -> None:
        self.host = settings.jitsi_host.rstrip("/")
        self.app_id = settings.jitsi_app_id
        self.secret = settings.jitsi_app_secret

    def _url(self, room: str, window: Window, *, moderator: bool) -> str:
        url = f"{self.host}/{room}"
        if not self.secret:
            return url
        claims = {
            "aud": "jitsi",
            "iss": self.app_id,
            "sub": urlsplit(self.host).hostname or "*",
            "room": room,
            "nbf": int((window.starts_at - MARGIN).timestamp()),
            "exp": int((window.ends_at + MARGIN).timestamp()),
            "context": {"user": {"moderator": moderator}},
            "moderator": moderator,
        }
        return f"{url}?jwt={jwt.encode(claims, self.secret, algorithm='HS256')}"

    async def create(self, window: Window) -> Conference:
        room = f"meeting-{window.meeting_id}-{secrets.token_urlsafe(18)}"
        return Conference(self._url(room, window, moderator=False), room)

    async def move(self, external_id: str, window: Window) -> Conference | None:
        # The room stays; only a token (when signed) speaks of the window.
        if not self.secret:
            return None
        return Conference(self._url(external_id, window, moderator=False), external_id)

    async def delete(self, external_id: str) -> None:
        # Jitsi rooms exist only while someone is in them: nothing to delete.
        return None

    def host_url(self, conference: Conference, window: Window) -> str:
        return self._url(conference.external_id, window, moderator=True)
