"""Real local peers for outside services: an SMTP inbox (served by aiosmtpd) and an HTTP app
that speaks the Zoom endpoints we use (served by uvicorn); the fixtures that start them are
in tests/workers/conftest.py."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


@dataclass
class Inbox:
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[bytes]:
        return [data for rcpts, data in self.messages if address in rcpts]


@dataclass
class FakeZoom:
    """Speaks the Zoom endpoints we use and checks what it receives."""

    requests: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: int = 0  # answer this many next API calls with HTTP 500
    delay: float = 0.0  # answer API calls this late (to force client timeouts)
    tokens_issued: int = 0
    expire_token: bool = False  # answer the next API call with 401
    next_id: int = 9000
    errors: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        async def token(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            q = request.query_params
            if not auth.startswith("Basic ") or q.get("grant_type") != "account_credentials" \
                    or q.get("account_id") != "acct-1":
                self.errors.append(f"bad token request {auth!r} {dict(q)}")
                return JSONResponse({"reason": "bad"}, status_code=400)
            self.tokens_issued += 1
            return JSONResponse({"access_token": f"tok-{self.tokens_issued}",
                                 "token_type": "bearer", "expires_in": 3599})

        async def api(request: Request) -> Response:
            body = await request.json() if request.method in ("POST", "PATCH") else {}
            self.requests.append((request.method, request.url.path, body))
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.failures > 0:
                self.failures -= 1
                return JSONResponse({"message": "boom"}, status_code=500)
            if request.headers.get("authorization") != f"Bearer tok-{self.tokens_issued}" \
                    or self.expire_token:
                self.expire_token = False
                return JSONResponse({"code": 124, "message": "Invalid access token"},
                                    status_code=401)
            if request.method == "POST":
                if request.path_params["user"] != "host@example.com":
                    return JSONResponse({"message": "no user"}, status_code=404)
                if body.get("type") != 2 or not body.get("start_time", "").endswith("Z"):
                    self.errors.append(f"bad create body {body}")
                self.next_id += 1
                mid = str(self.next_id)
                self.meetings[mid] = {**body, "id": int(mid),
                                      "join_url": f"https://zoom.test/j/{mid}"}
                return JSONResponse(self.meetings[mid], status_code=201)
            mid = request.path_params["id"]
            if mid not in self.meetings:
                return JSONResponse({"code": 3001, "message": "not found"}, status_code=404)
            if request.method == "PATCH":
                self.meetings[mid].update(body)
                return Response(status_code=204)
            del self.meetings[mid]
            return Response(status_code=204)

        return Starlette(routes=[
            Route("/oauth/token", token, methods=["POST"]),
            Route("/v2/users/{user}/meetings", api, methods=["POST"]),
            Route("/v2/meetings/{id}", api, methods=["PATCH", "DELETE"]),
        ])
