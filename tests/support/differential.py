"""The fast executor checked against graphql-core's own, on every operation the suite runs.

While the suite runs, the schema executes with `ShadowedExecutor`: the production
`FastExecutor`, which also records what each root field's resolver returned, and, once the
operation's result is complete, runs the same operation again through Strawberry's default
executor with those root values replayed (a mutation is not applied twice, and a query
sees the values the first run saw) and the same context (so nested loads hit the same
DataLoader caches). Results and errors — data with its key order, each error's message,
locations, path and extensions — must be equal; a difference is kept in `MISMATCHES`
and tests/conftest.py fails the test that caused it. Subscriptions are not shadowed.
A difference is confirmed by replaying the fast executor right after the default one, so
that a row another request changed in between is not taken for an executor's fault.
"""

import json
from collections.abc import Callable
from typing import Any

from graphql import ExecutionResult, GraphQLResolveInfo, MiddlewareManager, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.executor import FastExecutor

MISMATCHES: list[str] = []
COMPARED = [0]


def outcome(result: ExecutionResult) -> str:
    """What a client can tell apart: the data (key order included) and the errors."""
    return json.dumps({"data": result.data,
                       "errors": [e.formatted for e in result.errors or ()]},
                      sort_keys=False, default=repr)


def _is_root(info: GraphQLResolveInfo) -> bool:
    return info.path.prev is None


def _function(method: Callable[..., Any]) -> Callable[..., Any]:
    # graphql-core takes functions or objects with `resolve` as middleware, not methods.
    def middleware(next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo,
                   **args: Any) -> Any:
        return method(next_, root, info, **args)

    return middleware


class _Raised:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class ShadowedExecutor(FastExecutor):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._roots: dict[Any, Any] = {}

    def _record(self, next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo,
                **args: Any) -> Any:
        if not _is_root(info):
            return next_(root, info, **args)
        key = info.path.key
        try:
            result = next_(root, info, **args)
        except Exception as error:
            self._roots[key] = _Raised(error)
            raise
        if self.is_awaitable(result):
            async def keep() -> Any:
                try:
                    value = await result
                except Exception as error:
                    self._roots[key] = _Raised(error)
                    raise
                self._roots[key] = value
                return value

            return keep()
        self._roots[key] = result
        return result

    def _replay(self, next_: Callable[..., Any], root: Any, info: GraphQLResolveInfo,
                **args: Any) -> Any:
        if _is_root(info) and info.path.key in self._roots:
            value = self._roots[info.path.key]
            if isinstance(value, _Raised):
                raise value.error
            return value
        return next_(root, info, **args)

    def execute_field(self, parent_type: Any, source: Any, field_details_list: Any,
                      path: Any, position_context: Any) -> Any:
        if path.prev is not None:
            return super().execute_field(parent_type, source, field_details_list, path,
                                         position_context)
        # Only for the root field's resolver call: its completion runs later (async) or
        # falls back to graphql-core's path (sync), which is what the shadow runs anyway.
        saved = self.middleware_manager
        self.middleware_manager = MiddlewareManager(_function(self._record))
        try:
            return super().execute_field(parent_type, source, field_details_list, path,
                                         position_context)
        finally:
            self.middleware_manager = saved

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        if self.operation.operation is OperationType.SUBSCRIPTION:
            return result

        async def replayed(executor_class: type[Any]) -> str:
            run = executor_class(
                self.schema, self.fragment_definitions, self.fragments, self.root_value,
                self.context_value, self.operation, self.variable_values,
                self.field_resolver, self.type_resolver, self.subscribe_field_resolver,
                middleware_manager=MiddlewareManager(_function(self._replay)),
                is_awaitable=self.is_awaitable,
                operation_extensions=self.operation_extensions,
            ).execute_operation(serially)
            return outcome(await run if self.is_awaitable(run) else run)

        async def compared() -> Any:
            fast = await result if self.is_awaitable(result) else result
            default = await replayed(StrawberryGraphQLCoreExecutionContext)
            COMPARED[0] += 1
            first = outcome(fast)
            if first != default:
                # Another request may have changed a row between the two runs (concurrency
                # tests): the fast executor replayed right after the default one tells a
                # changed row (equal now) from a difference of the executors.
                again = await replayed(FastExecutor)
                if again != default:
                    name = self.operation.name.value if self.operation.name else "anonymous"
                    MISMATCHES.append(f"operation {name}:\n  fast:    {again}\n"
                                      f"  default: {default}\n  (first:  {first})")
            return fast

        return compared()
