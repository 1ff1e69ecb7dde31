"""The GraphQL WebSocket handlers (graphql-transport-ws and the legacy graphql-ws) and the
encoding of their frames; the view (app/view.py) selects them.

- graphql-transport-ws: a `connection_init` without a valid token is closed with 4403; one
  whose token cannot be checked for an outage with 1013 (try again later).
- legacy graphql-ws: a refused `connection_init` is closed with 4403 too (Strawberry would
  answer 1011), before any subscription.
"""

import asyncio
import contextlib
import json
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

import orjson
from graphql import GraphQLError
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage as TransportConnectionInitMessage,
)
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage

from app import live_streams
from app.auth import ServiceUnavailable
from app.websocket_protocol import WRITABLE
from core.mailbox import Flag
from resolvers.context import Context

TRY_AGAIN_LATER = 1013  # WebSocket close code: the server cannot serve now


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


# --- graphql-transport-ws, served without Strawberry's handler ---------------------------
#
# Strawberry's handler holds, for every connection, a handler object, a starlette WebSocket
# and its adapter, a connection_init timeout task and an Operation per subscription; the
# middleware frames between the server and the view stay on the stack for the connection's
# life, and the scope keeps every handshake header. This connection keeps what it needs:
# the context, the running operations (a task each) and a timer until connection_init.
# Operations run through the schema's `stream` exactly as Strawberry's handler runs them
# (same parsing, validation, limits, masking and extensions), and the frames and close
# codes are the same.

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
INIT_TIMEOUT_SECONDS = 60.0  # Strawberry's connection_init_wait_timeout
MAX_OPERATIONS = 100  # Strawberry's max_subscriptions_per_connection
MAX_BACKLOG = 256  # frames waiting for one socket that does not read (the bus's queue size)
KEPT_HEADERS = (b"host",)  # base_url (calendar feed links) and the broadcast's host


class LiveView(Protocol):
    """What the connection needs from the view (app/view.py)."""

    settings: Any
    websockets: Any

    async def get_context(self, request: Any, response: Any) -> Context: ...

    async def refuse_connection(self, context: Context, params: dict[str, Any]
                                ) -> str | None: ...

    def _check_websocket_origin(self, request: Any) -> bool: ...

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...


def _picked_protocol(scope: dict[str, Any]) -> str | None:
    # Strawberry's rule: the first of the client's offers that the server speaks.
    for offered in scope.get("subprotocols") or ():
        if offered in (TRANSPORT_WS, LEGACY_WS):
            return str(offered)
    return None


class LiveSockets:
    """ASGI middleware: a WebSocket to `path` offering graphql-transport-ws is served by
    `TransportWSConnection`; any other WebSocket (legacy graphql-ws, no subprotocol) goes
    on to the view through the app as before."""

    def __init__(self, app: Any, *, view: LiveView, path: str = "/graphql") -> None:
        self.app = app
        self.view = view
        self.path = path

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (scope["type"] != "websocket" or scope.get("path") != self.path
                or _picked_protocol(scope) != TRANSPORT_WS):
            await self.app(scope, receive, send)
            return
        await serve_transport_ws(self.view, scope, receive, send)


async def serve_transport_ws(view: LiveView, scope: dict[str, Any], receive: Any,
                             send: Any) -> None:
    websockets = view.websockets
    connection = await _accepted(view, scope, receive, send)
    if connection is None:
        return
    websockets.add_connection(connection)
    try:
        await connection.run(receive)
    finally:
        websockets.remove_connection(connection)


async def _accepted(view: LiveView, scope: dict[str, Any], receive: Any, send: Any
                    ) -> "TransportWSConnection | None":
    """The handshake, in a frame of its own: nothing it looked at outlives it."""
    if view.websockets.closing:  # shutting down: refuse the handshake
        await send({"type": "websocket.close", "code": 1001})
        return None
    if not view._check_websocket_origin(WebSocket(scope, receive, send)):
        await send({"type": "websocket.close", "code": 1008})  # before accepting: 403
        return None
    if (await receive())["type"] != "websocket.connect":
        return None
    await send({"type": "websocket.accept", "subprotocol": TRANSPORT_WS})
    connection = TransportWSConnection(view, send,
                                       (scope.get("extensions") or {}).get(WRITABLE))
    context = await view.get_context(HTTPConnection(scope), connection)  # reads the headers
    # The server holds the scope for the connection's life: keep only the headers that are
    # read later (the Host, for links and the broadcast's key), not the whole handshake.
    scope["headers"] = [h for h in scope.get("headers", ()) if h[0] in KEPT_HEADERS]
    context.request = HTTPConnection(scope)
    connection.context = context
    return connection


class TransportWSConnection:
    __slots__ = ("view", "send", "writable", "backlog", "context", "operations", "init_timer",
                 "initialised", "acknowledged", "closed", "__weakref__")

    def __init__(self, view: LiveView, send: Any, writable: Flag | None = None) -> None:
        self.view = view
        self.send = send
        self.writable = writable  # the server's flag, set while the socket takes more
        self.backlog = 0  # frames waiting for the socket
        self.context: Context | None = None
        self.operations: dict[str, live_streams.Stream] | None = None  # made on first use
        self.init_timer: asyncio.TimerHandle | None = None
        self.initialised = False
        self.acknowledged = False
        self.closed = False

    # --- the socket -----------------------------------------------------------------------

    async def send_text(self, text: str) -> None:
        if not self.closed:
            await self.send({"type": "websocket.send", "text": text})

    async def send_message(self, message: dict[str, Any]) -> None:
        await self.send_text(live_frames.encode(message))

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):  # the peer may be gone already
            await self.send({"type": "websocket.close", "code": code, "reason": reason})

    # --- the receive loop -----------------------------------------------------------------

    async def run(self, receive: Any) -> None:
        loop = asyncio.get_running_loop()
        self.init_timer = loop.call_later(INIT_TIMEOUT_SECONDS, self._init_timed_out)
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message["type"] != "websocket.receive":
                    continue
                text = message.get("text")
                if text is None:
                    await self.close(4400, "WebSocket message type must be text")
                    return
                try:
                    parsed = json.loads(text)
                except ValueError:
                    await self.close(4400, "WebSocket message must be valid JSON")
                    return
                await self.handle(parsed)
                if self.closed:
                    return
        finally:
            self.closed = True
            if self.init_timer is not None:
                self.init_timer.cancel()
            await self._end_operations()

    def _init_timed_out(self) -> None:
        self.init_timer = None
        if not self.initialised:
            self._in_background(self.close(4408, "Connection initialisation timeout"))

    async def handle(self, message: Any) -> None:
        try:
            kind = message["type"]
            if kind == "connection_init":
                await self.on_init(message.get("payload", {}))
            elif kind == "ping":
                await self.send_text('{"type":"pong"}')
            elif kind == "pong":
                pass
            elif kind == "subscribe":
                await self.on_subscribe(message["id"], message["payload"])
            elif kind == "complete":
                self._cancel(message["id"])
            else:
                await self.close(4400, f"Unknown message type: {kind}")
        except (KeyError, TypeError):
            await self.close(4400, "Failed to parse message")

    async def on_init(self, payload: Any) -> None:
        if self.init_timer is not None:
            self.init_timer.cancel()
            self.init_timer = None
        if not isinstance(payload, dict):
            await self.close(4400, "Invalid connection init payload")
            return
        if self.initialised:
            await self.close(4429, "Too many initialisation requests")
            return
        self.initialised = True
        context = self.context
        assert context is not None
        try:
            refusal = await self.view.refuse_connection(context, payload)
        except ServiceUnavailable:
            await self.close(TRY_AGAIN_LATER, "Try again later")
            return
        if refusal is not None:
            await self.close(4403, "Forbidden")
            return
        await self.send_text('{"type":"connection_ack"}')
        self.acknowledged = True

    async def on_subscribe(self, operation_id: Any, payload: Any) -> None:
        if not self.acknowledged:
            await self.close(4401, "Unauthorized")
            return
        query = payload["query"]
        variables = payload.get("variables")
        operation_name = payload.get("operationName")
        operations = self.operations
        if operations is None:
            operations = self.operations = {}
        if operation_id in operations:
            await self.close(4409, f"Subscriber for {operation_id} already exists")
            return
        if len(operations) >= MAX_OPERATIONS:
            await self.send_message({"id": operation_id, "type": "error",
                                     "payload": [GraphQLError("Subscription limit reached")
                                                 .formatted]})
            return
        assert self.context is not None
        stream, new = live_streams.stream_for(self.context, query, variables, operation_name)
        stream.join(self, operation_id)
        operations[operation_id] = stream
        if new:
            stream.task = asyncio.create_task(stream.run(self.context, query, variables,
                                                         operation_name))

    async def send_frame(self, prefix: str, suffix: str) -> None:
        if self.closed:
            return
        writable = self.writable
        if self.backlog == 0 and (writable is None or writable.is_set()):
            await self.send_text(prefix + suffix)  # goes out at once: the socket can take it
            return
        # Paused (the client reads slowly): its frames wait in order in tasks of their own,
        # and the stream goes on to the other subscribers.
        if self.backlog >= MAX_BACKLOG:
            # Hundreds of frames unread: closed rather than held without end (the frames
            # waiting are dropped). The client reconnects and catches up (`after`), as
            # after a server restart.
            self.closed = True
            self._in_background(self.send({"type": "websocket.close",
                                           "code": TRY_AGAIN_LATER,
                                           "reason": "Too many frames unread"}))
            return
        self.backlog += 1
        self._in_background(self._send_later(prefix + suffix))

    @staticmethod
    def _in_background(step: Any) -> None:
        task = asyncio.ensure_future(step)
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _send_later(self, text: str) -> None:
        try:
            with contextlib.suppress(Exception):
                await self.send_text(text)
        finally:
            self.backlog -= 1

    def forget(self, operation_id: str) -> bool:
        operations = self.operations
        if operations is None or operation_id not in operations:
            return False
        del operations[operation_id]
        if not operations:
            self.operations = None
        return True

    def _cancel(self, operation_id: Any) -> None:
        operations = self.operations
        stream = operations.get(operation_id) if operations is not None else None
        if stream is not None:
            self.forget(operation_id)
            stream.leave(self, operation_id)

    async def _end_operations(self) -> None:
        streams = list((self.operations or {}).items())
        self.operations = None
        ending = [task for task in (stream.leave(self, operation_id)
                                    for operation_id, stream in streams) if task]
        # Let the cancelled streams run their finally blocks (their bus subscriptions).
        for task in ending:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task


_background: set[asyncio.Task[None]] = set()
