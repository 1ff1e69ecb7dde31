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
    from strawberry.http.base import BaseView

    from app.asgi import create_app
    from app.view import MeetingsGraphQL
    from schema.executor import shared_events

    shared_events.key = lambda executor: None  # type: ignore[method-assign]
    MeetingsGraphQL.encode_json = BaseView.encode_json  # type: ignore[method-assign]
    return create_app()
