"""The GraphQL WebSocket handlers (graphql-transport-ws and the legacy graphql-ws) and the
encoding of their frames; the view (app/view.py) selects them.

- graphql-transport-ws: a `connection_init` without a valid token is closed with 4403; one
  whose token cannot be checked for an outage with 1013 (try again later).
- legacy graphql-ws: a refused `connection_init` is closed with 4403 too (Strawberry would
  answer 1011), before any subscription.
"""

from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

import orjson
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage as TransportConnectionInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage

from resolvers.context import Context

TRY_AGAIN_LATER = 1013  # WebSocket close code: the server cannot serve now


class ServiceUnavailable(Exception):
    """The request cannot be served for an outage (authentication hit a database error)."""


@runtime_checkable
class RefusesConnections(Protocol):
    """The view (app/view.py): authenticates a connection_init payload."""

    async def refuse_connection(self, context: Context, params: dict[str, Any]
                                ) -> str | None: ...


class RefusingGraphQLWSHandler(BaseGraphQLWSHandler[Context, None]):
    """Legacy graphql-ws answers a refused connection_init with 1011; close with 4403 as
    graphql-transport-ws does, before any subscription."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        view = self.view
        if isinstance(view, RefusesConnections) and isinstance(payload, dict | None):
            try:
                refusal = await view.refuse_connection(self.context, payload or {})
            except ServiceUnavailable:
                await self.websocket.close(code=TRY_AGAIN_LATER, reason="Try again later")
                return
            if refusal is not None:
                await self.send_message({"type": "connection_error",
                                         "payload": {"message": refusal}})
                await self.websocket.close(code=4403, reason="Forbidden")
                return
        await super().handle_connection_init(message)


class OutageAwareTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Closes with 1013 (try again later) when the token cannot be checked for an outage,
    instead of dropping the connection without a close frame."""

    async def handle_connection_init(self, message: TransportConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except ServiceUnavailable:
            await self.websocket.close(code=TRY_AGAIN_LATER, reason="Try again later")
        # Strawberry's connection_init timeout sleeps out its whole minute even after the
        # init came: a task held by every new connection for nothing.
        task = self.connection_init_timeout_task
        if self.connection_init_received and task is not None and not task.done():
            task.cancel()


class _LiveFrames:
    """`next`/`data` frames whose payload is only `data`: the data's JSON is kept by the
    identity of the data object (held, so the id is not reused), so one result sent to many
    subscribers is encoded once and only the operation id differs per frame."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.encoded: OrderedDict[int, tuple[object, str]] = OrderedDict()

    def encode(self, message: dict[str, Any]) -> str:
        payload = message.get("payload")
        if (message.get("type") not in ("next", "data") or not isinstance(payload, dict)
                or payload.keys() != {"data"} or set(message) != {"id", "type", "payload"}):
            return orjson.dumps(message).decode()
        data = payload["data"]
        hit = self.encoded.get(id(data))
        if hit is None or hit[0] is not data:
            hit = (data, orjson.dumps(data).decode())
            self.encoded[id(data)] = hit
            while len(self.encoded) > self.size:
                self.encoded.popitem(last=False)
        return (f'{{"id":{orjson.dumps(message["id"]).decode()},"type":"{message["type"]}",'
                f'"payload":{{"data":{hit[1]}}}}}')


live_frames = _LiveFrames()
