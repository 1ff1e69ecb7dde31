"""The GraphQL WebSocket view: Strawberry's ASGI view for `/graphql` WebSockets (HTTP is
app/graphql_http.py's).

- Authentication: the token comes in the `connection_init` payload; without a valid one the
  connection is closed with 4403 unless the settings allow anonymous requests.
- Cross-origin handshakes from pages not listed in the allowed origins are refused (403).
- Frames are encoded with orjson, a broadcast's shared data once (app/websocket_handlers.py).
"""

from typing import Any

import orjson
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from app import auth
from app.schema import schema
from app.shutdown import WebSockets
from app.websocket_handlers import (
    OutageAwareTransportWSHandler,
    RefusingGraphQLWSHandler,
    live_frames,
)
from core.settings import Settings
from resolvers.context import Context


class MeetingsGraphQL(GraphQL[Context, None]):
    graphql_ws_handler_class = RefusingGraphQLWSHandler
    graphql_transport_ws_handler_class = OutageAwareTransportWSHandler

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None,  # GraphiQL is served by app/graphql_http.py
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            # Cross-origin WebSocket handshakes from other pages are refused (403) unless
            # listed; same-origin pages and non-browser clients (no Origin) always connect.
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        self.websockets = WebSockets()  # closed with 1001 on shutdown (app/shutdown.py)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.websockets.closing:  # shutting down: refuse the handshake
            await send({"type": "websocket.close", "code": 1001})
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.websockets.remove(scope)

    async def create_websocket_response(self, request: Any, subprotocol: str | None) -> Any:
        websocket = await super().create_websocket_response(request, subprotocol)
        self.websockets.add(websocket)
        return websocket

    def encode_json(self, data: object) -> str | bytes:
        """A WebSocket message stays text (a `bytes` answer would go out as a binary frame),
        and a `next` frame's data, shared by every subscriber of a broadcast
        (schema/executor.py), is encoded once."""
        if isinstance(data, dict):
            return live_frames.encode(data)
        return orjson.dumps(data).decode()

    # --- authentication -------------------------------------------------------------------

    async def get_context(self, request: Any, response: Any) -> Context:
        context = Context(settings=self.settings, request=request, response=response)
        try:
            await auth.authenticate_context(context, request.headers.get("authorization"))
        except auth.ServiceUnavailable as exc:
            context.unavailable = str(exc)  # answered SERVICE_UNAVAILABLE, not run
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # WebSocket clients send the token in the connection_init payload (SPEC §9).
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        refusal = await self.refuse_connection(context, params)
        if refusal is not None:
            raise ConnectionRejectionError({"message": refusal})  # closed with 4403
        return UNSET

    async def refuse_connection(self, context: Context, params: dict[str, Any]) -> str | None:
        """Authenticates a WebSocket from its connection_init payload; the reason to close it
        when the settings require a token and it has no valid one."""
        if context.account is None:
            header = params.get("authorization") or params.get("Authorization")
            if header:
                await auth.authenticate_context(context, str(header))
        if context.account is None and not self.settings.anonymous_allowed:
            return context.auth_error or "Authentication required."
        return None
