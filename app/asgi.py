"""The ASGI app: Starlette + Strawberry, the ORM opened in the lifespan."""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from app import dev_signin, ratelimit, trusted_documents
from app.calendar import calendar_feed
from app.graphql_http import FastPath, GraphQLHTTP
from app.guards import BodySizeLimit
from app.health import Readiness
from app.metrics import metrics_endpoint
from app.shutdown import STEP_TIMEOUT_SECONDS, Deadlines, Outcome, bounded, on_signals
from app.view import MeetingsGraphQL
from app.websocket_handlers import LiveSockets
from core import db
from core.observability import RequestIdMiddleware, configure_logging
from core.settings import Settings, get_settings
from subscriptions.bus import bus_for, use_bus
from subscriptions.relay import Relay, use_relay
from workers.conferencing.relay import HandOff
from workers.embedded import run_embedded


async def _step(step: Awaitable[object], what: str,
                timeout: float = STEP_TIMEOUT_SECONDS) -> None:  # noqa: ASYNC109
    if not await bounded(step, what, timeout):
        Outcome.steps_abandoned += 1


class MeetingsApp(Starlette):
    """Starlette, with the GraphQL requests that need none of its middleware (no CORS)
    served before it builds its stack (app/graphql_http.FastPath): a tenth of a small query
    went to the layers they pass through."""

    fast_path: FastPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.fast_path is not None and self.fast_path.takes(scope):
            scope["app"] = self
            await self.fast_path(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, *, manage_db: bool = True) -> Starlette:
    """`manage_db=False` leaves opening the ORM to the caller (tests share one per session)."""
    settings = settings or get_settings()
    if (settings.environment == "production" and not settings.jwt_jwks_url
            and settings.jwt_secret == Settings.model_fields["jwt_secret"].default):
        raise RuntimeError("ENVIRONMENT=production needs JWT_JWKS_URL or a JWT_SECRET of "
                           "your own: the default secret is public.")
    configure_logging(settings.log_renderer, settings.log_level)
    trusted_documents.manifest_for(settings)  # a manifest that does not fit stops the start

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_db:
            await db.init_db(settings.database_url)
        live_bus = bus_for(settings.redis_url)
        relay = Relay(live_bus, lock_rows=not settings.embedded)
        use_bus(live_bus)
        use_relay(relay)
        await live_bus.start()
        await relay.start()
        hand_off = HandOff(in_process=settings.redis_url is None)
        relay.followers.append(hand_off.poke)
        await hand_off.start()
        # Without Redis there is no broker and no separate worker: the worker's sweeps
        # (reminders, conference jobs, completion, expiry, e-mail) run in this process.
        stop_worker = asyncio.Event()
        worker = (asyncio.create_task(run_embedded(stop_worker), name="embedded-worker")
                  if settings.redis_url is None else None)
        async def drain() -> None:
            # What committed before the signal reaches the subscribers still connected.
            await relay.deliver_pending()
            await live_bus.drained(timeout=2.0)

        undo_signals = on_signals(graphql.websockets,
                                  grace_seconds=settings.graceful_shutdown_seconds,
                                  drain=drain, deadlines=deadlines)
        # What startup built (modules, the schema, pools, caches) lives as long as the
        # process: frozen, it is left out of the collector's passes, whose full ones would
        # otherwise walk all of it again and again.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            # Back in the collector's care, so that an app stopped in a process that goes on
            # (the tests start many) can be collected.
            gc.unfreeze()
            undo_signals()
            # Each step bounded: the process ends even with Redis or PostgreSQL gone.
            await _step(graphql.websockets.close_all(), "close the WebSockets", timeout=11)
            await _step(readiness.close(), "close the readiness probe")
            stop_worker.set()
            if worker is not None:
                await _step(worker, "stop the embedded worker", timeout=10)
            await _step(hand_off.stop(), "stop the conference hand-off")
            await _step(relay.stop(), "stop the relay")
            await _step(live_bus.stop(), "stop the bus")
            use_relay(None)
            await _step(ratelimit.close_all(), "close the rate limiter")
            if manage_db:
                await _step(db.close_db(), "close the database pool")

    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    graphql = MeetingsGraphQL(settings)  # WebSockets
    deadlines = Deadlines()  # the HTTP requests', cut to the grace on shutdown
    graphql_http = GraphQLHTTP(settings, deadlines)
    readiness = Readiness(settings, shutting_down=lambda: graphql.websockets.closing)
    middleware = [Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)]
    if settings.allowed_origins:
        middleware.insert(0, Middleware(
            CORSMiddleware, allow_origins=settings.allowed_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-request-id"],
            expose_headers=["x-request-id"], max_age=600))
    # graphql-transport-ws connections are served right inside the request id, without the
    # other middleware's frames held for the connection's life (app/websocket_handlers.py).
    middleware.insert(0, Middleware(LiveSockets, view=graphql))
    middleware.insert(0, Middleware(RequestIdMiddleware))  # outermost: ids every request
    app = MeetingsApp(
        routes=[
            Route("/graphql", graphql_http, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readiness.endpoint),
            Route("/metrics", metrics_endpoint),
            Route("/calendar/{name:path}", calendar_feed, methods=["GET"]),
            *dev_signin.routes(settings),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.fast_path = FastPath(graphql_http, cors=bool(settings.allowed_origins))
    return app
