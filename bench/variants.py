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
