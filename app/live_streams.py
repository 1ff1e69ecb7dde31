"""Running operations of graphql-transport-ws connections, and the subscribers each answers.

A subscription's frames depend only on its document, operation name and variables, on the
viewer and on the Host it came in by (links): subscribers for whom all of these are equal
share one stream — one resolver generator and bus subscription, one execution and one
encoded payload per event, written to each socket with its own operation id. That is what
makes one event broadcast to thousands of subscribers of a meeting cheap: the cost per
subscriber is a string concatenation and a socket write. A subscription that replays from
an `after` position starts differently for each subscriber, so it has a stream of its
own, as has anything that is not a subscription.

A socket that cannot take more (its transport paused) gets its frames from a task of its
own, so that it never holds up the others.
"""

import asyncio
import contextlib
import json
import logging
from functools import lru_cache
from typing import Any, Protocol

import orjson
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSyntaxError,
    OperationType,
    get_operation_ast,
    parse,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from core.metrics import LIVE_SUBSCRIPTIONS
from resolvers.context import Context

log = logging.getLogger("strawberry.ws.task")


class Member(Protocol):
    """A connection (app/websocket_handlers.py) as a stream sees it."""

    async def send_frame(self, prefix: str, suffix: str) -> None: ...

    def forget(self, operation_id: str) -> bool: ...

    async def close(self, code: int, reason: str = "") -> None: ...


Key = tuple[str, str | None, str, int, str | None]


class Stream:
    __slots__ = ("key", "members", "task", "followers")

    def __init__(self, key: Key | None) -> None:
        self.key = key
        # (connection, operation id) → the frames' prefix: one connection may subscribe
        # twice with the same document.
        self.members: dict[tuple[Member, str], str] = {}
        self.task: asyncio.Task[None] | None = None
        # Subscribers beyond the first: the first is counted by the schema's metrics
        # extension for the stream's life, these by the stream (the gauge counts them all).
        self.followers = 0

    def join(self, member: Member, operation_id: str) -> None:
        if self.members:
            self.followers += 1
            LIVE_SUBSCRIPTIONS.inc()
        self.members[member, operation_id] = '{"id":' + orjson.dumps(operation_id).decode()

    def leave(self, member: Member, operation_id: str) -> asyncio.Task[None] | None:
        """Removes a subscriber; the stream's task, cancelled, when it was the last."""
        if self.members.pop((member, operation_id), None) is None:
            return None
        if self.members:
            self._unfollow(1)
            return None
        self._end()
        if self.task is not None and not self.task.done():
            self.task.cancel()
            return self.task
        return None

    def _unfollow(self, count: int) -> None:
        count = min(count, self.followers)
        self.followers -= count
        LIVE_SUBSCRIPTIONS.dec(count)

    async def _send_all(self, suffix: str) -> None:
        for (member, _), prefix in list(self.members.items()):
            await member.send_frame(prefix, suffix)

    async def _final(self, suffix: str) -> None:
        """The last frame (`error` or `complete`): each subscriber's operation is forgotten
        before it is sent, so that the client may reuse the id at once."""
        self._end()
        for (member, operation_id), prefix in self.members.items():
            if member.forget(operation_id):
                await member.send_frame(prefix, suffix)

    def _end(self) -> None:
        if self.key is not None and _streams.get(self.key) is self:
            del _streams[self.key]  # no one joins a stream that is ending
        self._unfollow(self.followers)

    async def run(self, context: Context, query: Any, variables: Any,
                  operation_name: Any) -> None:
        from app.schema import schema

        try:
            stream = await schema.stream(query, variable_values=variables,
                                         context_value=context, operation_name=operation_name)
            async with aclosing(stream):
                first = True
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        assert result.errors
                        reason = _close_reason(result.errors[0])
                        if reason is not None:
                            self._end()
                            for member, operation_id in self.members:
                                member.forget(operation_id)
                                await member.close(4400, reason)
                            return
                        await self._final(',"type":"error","payload":' + orjson.dumps(
                            [e.formatted for e in result.errors]).decode() + "}")
                        return
                    if not isinstance(result, ExecutionResult):
                        await self._final(',"type":"error","payload":' + orjson.dumps([
                            GraphQLError("Incremental delivery is not supported over "
                                         "graphql-transport-ws").formatted]).decode() + "}")
                        return
                    first = False
                    await self._send_all(_next_suffix(result))
            await self._final(',"type":"complete"}')
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("Exception in worker task")
            with contextlib.suppress(Exception):
                await self._final(',"type":"complete"}')


_streams: dict[Key, Stream] = {}


def stream_for(context: Context, query: Any, variables: Any, operation_name: Any
               ) -> tuple[Stream, bool]:
    """The running stream this subscriber can share, or a new one; True when new (the
    caller starts it)."""
    key = _share_key(context, query, variables, operation_name)
    if key is not None:
        running = _streams.get(key)
        if running is not None:
            return running, False
    stream = Stream(key)
    if key is not None:
        _streams[key] = stream
    return stream, True


def _share_key(context: Context, query: Any, variables: Any, operation_name: Any
               ) -> Key | None:
    account = context.account
    if (account is None or not isinstance(query, str)
            or not isinstance(variables, dict | None)
            or not isinstance(operation_name, str | None)):
        return None
    if not _shareable(query, operation_name, context.settings.max_query_tokens):
        return None
    try:
        # Not orjson: its bytes keep a 4 KiB buffer, for each subscriber's key.
        encoded = json.dumps(variables, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    request = context.request
    host = request.headers.get("host") if request is not None else None
    return query, operation_name, encoded, account.id, host


@lru_cache(maxsize=512)
def _shareable(query: str, operation_name: str | None, max_tokens: int) -> bool:
    """A subscription whose root fields are plain fields without an `after` argument (a
    document that does not parse is left to the schema, which reports it)."""
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        return False
    return all(isinstance(selection, FieldNode)
               and all(argument.name.value != "after" for argument in selection.arguments or ())
               for selection in operation.selection_set.selections)


def _close_reason(error: GraphQLError) -> str | None:
    if isinstance(error, GraphQLSyntaxError):
        return error.message
    if isinstance(error.original_error, CannotGetOperationTypeError):
        return error.original_error.as_http_error_reason()
    return None


def _next_suffix(result: ExecutionResult) -> str:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return ',"type":"next","payload":' + orjson.dumps(payload).decode() + "}"
