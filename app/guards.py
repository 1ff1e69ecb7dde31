"""An ASGI guard in front of the GraphQL view: the request body size limit (413). (The
WebSocket Origin allowlist is Strawberry's own `allowed_origins`, set in app/asgi.py.)"""

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import RequestErrorCode


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, by Content-Length when given and by
    counting otherwise (chunked uploads); the body is read (at most `max_bytes`) and
    replayed to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"errors": [{"message": f"The request body is larger than {self.max_bytes} bytes "
                                    "(MAX_BODY_BYTES).",
                         "extensions": {"code": RequestErrorCode.PAYLOAD_TOO_LARGE.value}}]},
            status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)
