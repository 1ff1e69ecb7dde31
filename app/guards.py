"""The request body size limit (413): an ASGI guard in front of the routes, and the same
reading for the GraphQL endpoint, which reads its body itself (app/graphql_http.py). (The
WebSocket Origin allowlist is Strawberry's own `allowed_origins`, set in app/view.py.)"""

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import RequestErrorCode


class TooLarge:
    """The body is over the limit (by Content-Length or by what arrived)."""


TOO_LARGE = TooLarge()


async def read_body(scope: Scope, receive: Receive, max_bytes: int) -> bytes | TooLarge | None:
    """The whole body, TOO_LARGE past `max_bytes` (0: no limit), None when the client went
    away. A declared Content-Length over the limit is refused before reading."""
    if max_bytes > 0:
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                if value.isdigit() and int(value) > max_bytes:
                    return TOO_LARGE
                break
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if 0 < max_bytes < size:
            return TOO_LARGE
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


CLOSE = {"Connection": "close"}  # a refused body may still be arriving


def too_large_body(max_bytes: int) -> bytes:
    return orjson.dumps(
        {"errors": [{"message": f"The request body is larger than {max_bytes} bytes "
                                "(MAX_BODY_BYTES).",
                     "extensions": {"code": RequestErrorCode.PAYLOAD_TOO_LARGE.value}}]})


async def refuse_too_large(send: Send, max_bytes: int) -> None:
    body = too_large_body(max_bytes)
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


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
        body = await read_body(scope, receive, self.max_bytes)
        if body is None:
            return
        if isinstance(body, TooLarge):
            await refuse_too_large(send, self.max_bytes)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
