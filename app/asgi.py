"""The ASGI app: Starlette + Strawberry, the ORM opened in the lifespan."""

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL

from app import auth, db
from app.settings import Settings, get_settings
from resolvers.context import Context
from schema.schema import schema


class MeetingsGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
        )
        self.settings = settings

    async def get_context(self, request: Any, response: Any) -> Context:
        context = Context(settings=self.settings, request=request, response=response)
        header = request.headers.get("authorization") if hasattr(request, "headers") else None
        token = auth.bearer(header)
        if token is None:
            context.auth_error = "Authentication required: send Authorization: Bearer <JWT>."
            return context
        try:
            claims = auth.decode(token, self.settings)
        except auth.AuthError as exc:
            context.auth_error = str(exc)
            return context
        context.account = await auth.account_for(claims)
        return context


def create_app(settings: Settings | None = None, *, manage_db: bool = True) -> Starlette:
    """`manage_db=False` leaves opening the ORM to the caller (tests share one per session)."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_db:
            yield
            return
        await db.init_db(settings.database_url)
        try:
            yield
        finally:
            await db.close_db()

    async def healthz(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    graphql = MeetingsGraphQL(settings)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
