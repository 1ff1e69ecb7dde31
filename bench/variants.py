"""The API with one of this branch's changes undone, for before/after figures measured side
by side in one run (`uvicorn bench.variants:<name> --factory`)."""

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


def default_executor() -> Any:
    """The API with graphql-core's default executor instead of schema/executor.py's."""
    from app.asgi import create_app
    from app.schema import schema

    schema.execution_context_class = StrawberryGraphQLCoreExecutionContext
    return create_app()


def traced() -> Any:
    """The API with tracemalloc on and two routes for the live benchmark: /debug/mark takes
    a snapshot, /debug/diff lists what was allocated since (by file and line), per
    `?n=` connections. Never served outside bench/."""
    import tracemalloc

    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from app.asgi import create_app

    tracemalloc.start(1)
    marks: dict[str, Any] = {}

    async def mark(_: Request) -> PlainTextResponse:
        marks["before"] = tracemalloc.take_snapshot()
        return PlainTextResponse("ok")

    async def diff(request: Request) -> PlainTextResponse:
        n = int(request.query_params.get("n", "1"))
        stats = tracemalloc.take_snapshot().compare_to(marks["before"], "lineno")
        total = sum(s.size_diff for s in stats)
        lines = [f"python heap growth: {total / 1024:.0f} KiB = {total / 1024 / n:.1f} KiB per "
                 "connection", "KiB/conn  blocks/conn  where"]
        for s in stats[:45]:
            frame = s.traceback[0]
            where = f"{frame.filename.split('site-packages/')[-1]}:{frame.lineno}"
            lines.append(f"{s.size_diff / 1024 / n:8.2f}  {s.count_diff / n:10.1f}  {where}")
        return PlainTextResponse("\n".join(lines))

    app = create_app()
    app.router.routes[:0] = [Route("/debug/mark", mark), Route("/debug/diff", diff)]
    return app


def unshared_broadcast() -> Any:
    """The API with every subscriber executing and encoding its own events (before the
    broadcast was executed once per event, viewer, document and variables)."""
    import orjson
    from strawberry.http.base import BaseView

    from app.asgi import create_app
    from app.view import MeetingsGraphQL
    from app.websocket_handlers import live_frames
    from schema.executor import shared_events

    shared_events.key = lambda executor: None  # type: ignore[method-assign]
    MeetingsGraphQL.encode_json = BaseView.encode_json  # type: ignore[method-assign]
    live_frames.encode = lambda message: orjson.dumps(message).decode()  # type: ignore[method-assign]
    return create_app()


def strawberry_websockets() -> Any:
    """The API with graphql-transport-ws served by Strawberry's handler behind the whole
    middleware stack, asyncio Queues for the bus's subscribers and uvicorn's own queue and
    Event per connection (before app/websocket_handlers.py's own connection and
    core/mailbox.py)."""
    import asyncio

    from app import websocket_protocol
    from app.asgi import create_app
    from app.websocket_handlers import LiveSockets
    from subscriptions import bus

    async def passthrough(self: LiveSockets, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    class QueueInbox(asyncio.Queue[dict[str, Any]]):
        lost = 0

        def put_nowait(self, event: dict[str, Any]) -> None:
            if self.full():
                self.get_nowait()
                self.lost += 1
            super().put_nowait(event)

    def set_event(value: bool) -> asyncio.Event:
        event = asyncio.Event()
        if value:
            event.set()
        return event

    LiveSockets.__call__ = passthrough  # type: ignore[method-assign]
    websocket_protocol.Mailbox = asyncio.Queue  # type: ignore[misc,assignment]
    websocket_protocol.Flag = set_event  # type: ignore[misc,assignment]
    bus.Mailbox = QueueInbox  # type: ignore[misc,assignment]
    return create_app()


def separate_statements() -> Any:
    """The API with the mutation work of issue 11 undone: a mutation's statements sent one
    by one (Tortoise's own transaction: BEGIN, the SET LOCAL timeouts, SAVEPOINT and RELEASE
    each a round trip; `record_change`'s writes, credit moves and conflict reads one
    statement each, its SQLite path), the locked meeting's query built on every request,
    and the rate limiter's MULTI/INCRBY/EXPIRE/EXEC pipeline. The parties' accounts and the
    reason still come with the locked meeting."""
    import math
    import time
    from typing import Any as Exc

    from tortoise.transactions import in_transaction

    from app import ratelimit
    from app.asgi import create_app
    from core import db
    from resolvers import effects
    from resolvers.prepared import PreparedQuery

    class SetLocalAfterBegin:
        def __init__(self, lock_timeout_ms: int, statement_timeout_ms: int) -> None:
            self._context = in_transaction()
            self._timeouts = (f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}; "
                              f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}")

        async def __aenter__(self) -> Any:
            client = await self._context.__aenter__()
            await client.execute_script(self._timeouts)
            return client

        async def __aexit__(self, *exc: Exc) -> None:
            await self._context.__aexit__(*exc)

    async def built_every_time(self: Any, model: Any, **values: Any) -> Any:
        return await self.build(**values).first()

    async def pipelined(self: Any, key: str, limit: int, cost: int = 1) -> Any:
        now = time.time()
        window = int(now // self.window)
        name = f"{self.prefix}:{key}:{window}"
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incrby(name, cost)
            pipe.expire(name, self.window + 1)
            count, _ = await pipe.execute()
        retry_after = max(1, math.ceil((window + 1) * self.window - now))
        return ratelimit.Decision(allowed=int(count) <= limit, count=int(count),
                                  retry_after=retry_after)

    db._operation_transaction = SetLocalAfterBegin  # type: ignore[assignment]
    effects.is_postgres = lambda client: False
    PreparedQuery.first = built_every_time  # type: ignore[method-assign]
    ratelimit.RateLimiter.hit = pipelined  # type: ignore[method-assign]
    return create_app()


def orm_reads() -> Any:
    """The API with the meeting list read through the ORM (a QuerySet compiled by pypika and
    a model instance per row) instead of models/rows.py's read-only rows."""
    from functools import cached_property

    from tortoise.expressions import Q

    from app.asgi import create_app
    from core import clock
    from models.accounts import Account, ExpertService, Skill
    from models.enums import MeetingRole
    from models.meetings import Meeting, TimelineEvent
    from resolvers import loaders, pagination, queries

    def loader(name: str, build: Any) -> None:
        prop: Any = cached_property(build)
        prop.__set_name__(loaders.Loaders, name)
        setattr(loaders.Loaders, name, prop)

    loader("account", lambda self: loaders.by_id(Account))
    loader("service", lambda self: loaders.by_id(ExpertService))
    loader("skill", lambda self: loaders.by_id(Skill))
    loader("timeline", lambda self: loaders.many_by(TimelineEvent, "meeting_id", ("id",)))

    async def meeting_page(account_id: int, role: MeetingRole, upcoming: bool | None,
                           statuses: Any, first: int | None, after: str | None, *,
                           loaders: Any = None, node_fields: Any = None) -> Any:
        limit = pagination.page_size(first)
        query = Meeting.all()
        if role is MeetingRole.EXPERT:
            query = query.filter(expert_id=account_id)
        elif role is MeetingRole.USER:
            query = query.filter(user_id=account_id)
        else:
            query = query.filter(Q(user_id=account_id) | Q(expert_id=account_id))
        if upcoming:
            query = query.filter(ends_at__gt=clock.now())
        elif upcoming is False:
            query = query.filter(ends_at__lte=clock.now())
        if statuses:
            query = query.filter(status__in=statuses)
        cursor = pagination.decode_cursor(after, 2)
        total = await query.count()
        if cursor:
            at, last_id = pagination.cursor_instant(cursor[0]), pagination.cursor_id(cursor[1])
            query = query.filter(Q(starts_at__gt=at) | Q(starts_at=at, id__gt=last_id))
        rows = await query.order_by("starts_at", "id").limit(limit + 1)
        if loaders is not None and node_fields and rows:
            await queries.prime_meetings(loaders, rows[:limit], node_fields)
        return pagination.page_of(rows, [pagination.meeting_cursor(m) for m in rows], limit,
                                  after, total)

    queries.meeting_page = meeting_page  # type: ignore[assignment]
    return create_app()


def resolved_objects() -> Any:
    """The API with FastExecutor completing only plain scalar and enum fields in its loop:
    every object and list field (edges, node, the relations) through graphql-core's
    execute_field and the resolver."""
    from app.asgi import create_app
    from schema import executor

    executor.object_getter = lambda *args: None  # type: ignore[assignment]
    return create_app()


def list_before() -> Any:
    """The meeting list as it was before models/rows.py, the object fast path and the weak
    resolve-info helpers: `orm_reads`, `resolved_objects` and `cyclic_executor` at once
    (each patches the code it undoes, then builds an app; the last one is served)."""
    orm_reads()
    resolved_objects()
    return cyclic_executor()


def strawberry_view() -> Any:
    """The API with HTTP `/graphql` served as before app/graphql_http.py: Strawberry's ASGI
    view running the Schema's eight extensions (app/schema.py), behind Starlette's whole
    middleware stack and router (it lacks the old view's request checks, which cost little)."""
    from starlette.routing import Route

    from app.asgi import MeetingsApp, create_app
    from app.view import MeetingsGraphQL
    from core.settings import get_settings

    app = create_app()
    assert isinstance(app, MeetingsApp)
    app.fast_path = None
    app.router.routes[0] = Route("/graphql", MeetingsGraphQL(get_settings()),
                                 methods=["GET", "POST"])
    return app


def deflate_per_socket() -> Any:
    """The API compressing every socket's copy of a broadcast frame itself (before
    app/websocket_protocol.SharedDeflate kept the compressed frames)."""
    from app import websocket_protocol
    from app.asgi import create_app

    websocket_protocol.COMPRESSED_KEPT = 0
    return create_app()


def cyclic_executor() -> Any:
    """The API with graphql-core's own resolve-info helpers (bound methods of the executor,
    which holds them): each request's graph is freed by the cyclic collector, not at once."""
    from graphql import GraphQLResolveInfoHelpers

    from app.asgi import create_app
    from schema.executor import FastExecutor

    original = FastExecutor.__init__

    def init(self: FastExecutor, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.async_helpers = GraphQLResolveInfoHelpers(gather=self.gather_async_work,
                                                       track=self.track_async_work)

    FastExecutor.__init__ = init  # type: ignore[method-assign]
    return create_app()


def unfrozen() -> Any:
    """The API without its startup heap frozen (app/asgi.py's lifespan): the collector's
    full passes walk it."""
    import gc

    from app.asgi import create_app

    gc.freeze = lambda: None
    return create_app()


def resolver_wrappers() -> Any:
    """The API with every resolver called through Strawberry's wrapper chain, including
    those that take nothing but `self` (before schema/executor.py called them itself)."""
    from app.asgi import create_app
    from schema import executor

    executor._self_only_method = lambda *args: None  # type: ignore[assignment]
    return create_app()
