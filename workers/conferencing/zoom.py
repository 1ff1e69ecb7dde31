"""Zoom: Server-to-Server OAuth (account credentials), meetings under one Zoom user."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core import clock
from core.settings import Settings
from workers.conferencing import Conference, PermanentError, TransientError, Window


@dataclass
class _Token:
    value: str
    expires_at: datetime


# Tokens are cached per (oauth url, account, client) until shortly before they expire.
# (No lock: two concurrent fetches only cost one extra token.)
_tokens: dict[tuple[str, str, str], _Token] = {}


def clear_token_cache() -> None:
    _tokens.clear()


class ZoomProvider:
    name = "zoom"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api = settings.zoom_api_url.rstrip("/")
        self.oauth = settings.zoom_oauth_url.rstrip("/")
        self.key = (self.oauth, settings.zoom_account_id, settings.zoom_client_id)

    async def _token(self, http: httpx.AsyncClient, *, fresh: bool = False) -> str:
        cached = _tokens.get(self.key)
        if cached and not fresh and cached.expires_at > clock.now():
            return cached.value
        response = await self._send(
            http, "POST", f"{self.oauth}/oauth/token",
            params={"grant_type": "account_credentials",
                    "account_id": self.settings.zoom_account_id},
            auth=(self.settings.zoom_client_id, self.settings.zoom_client_secret))
        if response.status_code != 200:
            raise PermanentError(f"zoom oauth: HTTP {response.status_code} {response.text[:200]}")
        body = response.json()
        lifetime = max(int(body.get("expires_in", 3600)) - 60, 0)
        token = _Token(body["access_token"], clock.now() + timedelta(seconds=lifetime))
        _tokens[self.key] = token
        return token.value

    async def _send(self, http: httpx.AsyncClient, method: str, url: str,
                    **kwargs: Any) -> httpx.Response:
        try:
            response = await http.request(method, url, **kwargs)
        except httpx.TransportError as exc:  # timeouts, refused connections, resets
            raise TransientError(f"zoom {method} {url}: {exc!r}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientError(f"zoom {method} {url}: HTTP {response.status_code}")
        return response

    async def _api(self, method: str, path: str, json: dict[str, Any] | None = None,
                   ok: tuple[int, ...] = (200, 201, 204)) -> httpx.Response:
        async with httpx.AsyncClient(timeout=self.settings.zoom_timeout_seconds) as http:
            for fresh in (False, True):
                token = await self._token(http, fresh=fresh)
                response = await self._send(
                    http, method, f"{self.api}{path}", json=json,
                    headers={"Authorization": f"Bearer {token}"})
                if response.status_code != 401:
                    break
            if response.status_code not in ok:
                raise PermanentError(
                    f"zoom {method} {path}: HTTP {response.status_code} {response.text[:200]}")
            return response

    def _body(self, window: Window) -> dict[str, Any]:
        return {
            "start_time": window.starts_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration": int((window.ends_at - window.starts_at).total_seconds() // 60),
            "timezone": "UTC",
        }

    async def create(self, window: Window) -> Conference:
        response = await self._api(
            "POST", f"/v2/users/{self.settings.zoom_user_id}/meetings",
            {"topic": window.topic, "type": 2, **self._body(window),
             "settings": {"join_before_host": False, "waiting_room": True}})
        body = response.json()
        return Conference(body["join_url"], str(body["id"]))

    async def move(self, external_id: str, window: Window) -> Conference | None:
        # Zoom keeps the join URL when a meeting moves.
        await self._api("PATCH", f"/v2/meetings/{external_id}", self._body(window))
        return None

    async def delete(self, external_id: str) -> None:
        # Already gone (404) is what we wanted.
        await self._api("DELETE", f"/v2/meetings/{external_id}", ok=(200, 204, 404))

    def host_url(self, conference: Conference, window: Window) -> str:
        return conference.join_url
