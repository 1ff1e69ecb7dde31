"""The executor Strawberry hands to graphql-core (`execution_context_class`).

graphql-core completes every field alike: a Path, a resolve-info tuple, the resolver (for
a plain field Strawberry's `getattr` wrapper), then `complete_value` recursing through
NonNull to the leaf's `coerce_output_value`. On a 20-meeting page most fields are plain
scalars or enums of rows already loaded, and that machinery costs several times the
value itself. `FastExecutor.execute_fields` completes those fields in one loop: the
attribute, then the leaf type's coercion. Anything else — an object or list field, a
field with a resolver or arguments, middleware, incremental delivery — and any value that
is not a plain success (None for a non-null field, a coercion that fails or returns
nothing, an attribute that raises) goes through graphql-core's own `execute_field`, which
then produces exactly the data, null bubbling and located error it always does. Aliases,
directives and fragments are already resolved into the grouped field set the loop reads.

Object and list fields take a short path too when their value is at hand without
Strawberry's resolver chain: a default-resolved attribute (an edge's `node`, a connection's
`edges`); a field that declares a `READY` function in its metadata — the value its resolver
would return, read from the request's context, or Undefined when the resolver has work to
do (a relation whose DataLoader has not loaded yet); or a synchronous resolver of `self`
alone (`Viewer.account`), called directly, since the chain has nothing to do for it. The
value is then completed as graphql-core completes it — non-null checks, each list item
with its own error handling, `is_type_of`, the memoised sub-selection — without a
resolve-info, and anything else (an abstract type, an iterable that is not a list, an
awaitable item, a type with its own `is_type_of`) goes through graphql-core's
`complete_value` from that level on.

tests/schema/test_fast_executor.py runs the suite's operations and generated queries
through this and the default executor and compares results and errors.
"""

import asyncio
import inspect
import json
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

from graphql import (
    ExecutionResult,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.executor import invalid_return_type_error, to_nodes
from graphql.pyutils import Path, Undefined, gather_with_cancel
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from core.metrics import LIVE_EVENT_EXECUTIONS

# A field's plan: (response name, attribute, leaf type, non-null) for a plain scalar or enum;
# (response name, getter, field definition, None) for an object or list whose value the
# getter reads (Undefined: not at hand); None for a field that takes graphql-core's path.
Plain = tuple[str, Any, Any, bool | None]
_BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
R = TypeVar("R", dict[str, Any], list[Any])
# The metadata key of a field's "ready" function: (source, context) -> the value the field's
# resolver would return now, or Undefined when the resolver must run (schema/types.py).
READY = "fast_executor_ready"


def plain_attribute(schema: GraphQLSchema, parent_type: GraphQLObjectType,
                    field_name: str) -> tuple[str, Any, bool] | None:
    """(attribute, leaf type, non-null) when the field is completed by reading an attribute
    and coercing a scalar or enum: Strawberry's default resolver, no arguments."""
    field_def: GraphQLField | None = schema.get_field(parent_type, field_name)
    if field_def is None or field_def.args or field_def.resolve is None:
        return None
    if not getattr(field_def.resolve, "_is_default", False):
        return None
    strawberry_field = (field_def.extensions or {}).get(_BACKREF)
    if strawberry_field is None or strawberry_field.default_resolver is not getattr:
        return None
    if not strawberry_field.is_basic_field:
        return None
    leaf = get_nullable_type(field_def.type)
    if not is_leaf_type(leaf):
        return None
    return strawberry_field.python_name, leaf, is_non_null_type(field_def.type)


def _default_resolved(schema: GraphQLSchema, parent_type: GraphQLObjectType,
                      field_name: str) -> tuple[GraphQLField, Any] | None:
    """The field and its Strawberry field when it has no arguments and no extensions."""
    field_def: GraphQLField | None = schema.get_field(parent_type, field_name)
    if field_def is None or field_def.args or field_def.resolve is None:
        return None
    strawberry_field = (field_def.extensions or {}).get(_BACKREF)
    if strawberry_field is None or strawberry_field.extensions:
        return None
    return field_def, strawberry_field


def _completes_fast(return_type: GraphQLOutputType) -> bool:
    """An object type, or lists of one, optionally non-null at any level."""
    inner = get_nullable_type(return_type)
    while isinstance(inner, GraphQLList):
        inner = get_nullable_type(inner.of_type)
    return is_object_type(inner)


def object_getter(schema: GraphQLSchema, parent_type: GraphQLObjectType,
                  field_name: str) -> Any:
    """For an object or list field whose value can be read without a resolver call: a
    function (source, context) -> the value, or Undefined when the resolver must run."""
    found = _default_resolved(schema, parent_type, field_name)
    if found is None or not _completes_fast(found[0].type):
        return None
    field_def, strawberry_field = found
    ready = strawberry_field.metadata.get(READY)
    if ready is not None:
        return ready
    method = _self_only_method(schema, strawberry_field)
    if method is not None:
        return method
    if (getattr(field_def.resolve, "_is_default", False)
            and strawberry_field.default_resolver is getattr
            and strawberry_field.is_basic_field):
        attribute = strawberry_field.python_name
        return lambda source, _context: getattr(source, attribute)
    return None


def _self_only_method(schema: GraphQLSchema, strawberry_field: Any) -> Any:
    """For a synchronous resolver that takes nothing but `self` (e.g. `Viewer.account`): a
    getter that calls it as Strawberry's wrapper chain would — no arguments, no field
    extensions (nor permission classes, which are one) and no exception handlers leave that
    chain nothing to do but `resolver(source)`. What it raises is returned, so that
    completion reports it exactly as graphql-core's `execute_field` reports a raising
    resolver, without calling it twice."""
    resolver = strawberry_field.base_resolver
    if (resolver is None or resolver.is_async or strawberry_field.arguments
            or resolver.self_parameter is None or len(resolver.signature.parameters) != 1):
        return None
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    converter = getattr(strawberry_schema, "schema_converter", None)
    if converter is None or getattr(converter, "_exception_handler_specs", True):
        return None
    function = resolver.wrapped_func

    def call(source: Any, _context: Any) -> Any:
        try:
            return function(source)
        except Exception as error:  # noqa: BLE001 - completion raises it where graphql-core would
            return error

    return call


def _own_is_type_of(object_type: GraphQLObjectType) -> bool:
    """Whether `is_type_of` is the type's own (which may read the resolve-info) rather than
    Strawberry's isinstance check, which does not."""
    definition = (object_type.extensions or {}).get(_BACKREF)
    return object_type.is_type_of is not None and (
        definition is None or definition.is_type_of is not None)


class _Plans:
    """Per schema, per (object type, field name): the plain-field answer, computed once."""

    def __init__(self) -> None:
        self.by_schema: dict[int, tuple[GraphQLSchema, dict[tuple[str, str], Any]]] = {}

    def of(self, schema: GraphQLSchema, parent_type: GraphQLObjectType,
           field_name: str) -> tuple[Any, Any, bool | None] | None:
        entry = self.by_schema.get(id(schema))
        if entry is None or entry[0] is not schema:
            entry = self.by_schema[id(schema)] = (schema, {})
        cache = entry[1]
        key = (parent_type.name, field_name)
        try:
            return cache[key]
        except KeyError:
            found: tuple[Any, Any, bool | None] | None = plain_attribute(
                schema, parent_type, field_name)
            if found is None:
                getter = object_getter(schema, parent_type, field_name)
                if getter is not None:
                    found = (getter, schema.get_field(parent_type, field_name), None)
            cache[key] = found
            return found


_plans = _Plans()


class _SharedEvents:
    """Subscription events executed once for every subscriber that would get the same
    result: the same event payload for the same viewer (`share_key` of the payload object,
    e.g. (event id, account id)), the same operation (the parser cache hands out one
    DocumentNode per text), the same variables and host. Only error-free results are
    shared; a subscriber that would get errors executes on its own."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[Any, ...], tuple[Any, asyncio.Future[Any]]] = \
            OrderedDict()
        self.executed = 0
        self.shared = 0

    def key(self, executor: "FastExecutor") -> tuple[Any, ...] | None:
        share_key = getattr(executor.root_value, "share_key", None)
        account = getattr(executor.context_value, "account", None)
        if share_key is None or account is None:
            return None
        try:
            variables = json.dumps(executor.variable_values.coerced, sort_keys=True,
                                   default=str)
        except (TypeError, ValueError):
            return None
        # Fields such as calendarFeed's URL depend on the host the connection came in by.
        request = getattr(executor.context_value, "request", None)
        host = request.headers.get("host") if request is not None else None
        return share_key, id(executor.operation), variables, account.id, host

    async def run(self, executor: "FastExecutor", key: tuple[Any, ...],
                  serially: bool | None) -> Any:
        entry = self.entries.get(key)
        if entry is not None and entry[0] is executor.operation:
            result = await asyncio.shield(entry[1])
            if isinstance(result, ExecutionResult) and not result.errors:
                self.shared += 1
                LIVE_EVENT_EXECUTIONS.labels("yes").inc()
                return result
            LIVE_EVENT_EXECUTIONS.labels("no").inc()
            return await _awaited(executor.execute_own(serially))
        future: asyncio.Future[Any] = asyncio.ensure_future(
            _awaited(executor.execute_own(serially)))
        # The entry holds the operation, so its id is not reused while the key lives.
        self.entries[key] = (executor.operation, future)
        while len(self.entries) > self.size:
            self.entries.popitem(last=False)
        self.executed += 1
        LIVE_EVENT_EXECUTIONS.labels("no").inc()
        return await future


async def _awaited(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


shared_events = _SharedEvents()


class FastExecutor(StrawberryGraphQLCoreExecutionContext):
    _event = False

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        assert isinstance(executor, FastExecutor)
        executor._event = True
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = shared_events.key(self) if self._event else None
        if key is None:
            return super().execute_operation(serially)
        return shared_events.run(self, key, serially)

    def execute_own(self, serially: bool | None = None) -> Any:
        return super().execute_operation(serially)

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        # No "Did you mean" in variable-coercion errors (enum values, input fields) unless
        # the request's settings turn suggestions on (development): graphql-core's own
        # switch, which Strawberry does not pass; the context is build's fourth argument.
        context = args[3] if len(args) > 3 else kwargs.get("context_value")
        settings = getattr(context, "settings", None)
        kwargs["hide_suggestions"] = not getattr(settings, "suggestions_enabled", False)
        return super().build(*args, **kwargs)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core's resolve-info helpers are bound methods of the executor, which holds
        # them: a reference cycle that kept each request's whole graph (context, loaders,
        # rows, results) alive until the cyclic collector found it — the collector took
        # about a fifth of a list request's CPU. Weak references to the methods end the
        # cycle, so that the graph is freed when the request lets go of it. Whoever calls a
        # helper runs inside this executor's work (a resolver it called, a coroutine of its
        # own), which holds the executor.
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=_weakly(self.gather_async_work), track=_weakly(self.track_async_work))
        # Grouped field sets are memoised per executor (collect_subfields), so a list of
        # objects hands the same one in for every item: its plan is built once.
        self._field_plans: dict[int, tuple[Any, list[Plain | None]]] = {}

    def _plan(self, parent_type: GraphQLObjectType,
              grouped_field_set: Any) -> list[Plain | None]:
        key = id(grouped_field_set)
        hit = self._field_plans.get(key)
        if hit is not None and hit[0] is grouped_field_set:
            return hit[1]
        plan: list[Plain | None] = []
        for response_name, field_details_list in grouped_field_set.items():
            plain = _plans.of(self.schema, parent_type, field_details_list[0].node.name.value)
            if plain is not None and plain[2] is None and any(
                    details.node.directives for details in field_details_list):
                plain = None  # e.g. @stream: graphql-core's incremental path
            plan.append(None if plain is None else (response_name, *plain))
        self._field_plans[key] = (grouped_field_set, plan)
        return plan

    def execute_fields(self, parent_type: GraphQLObjectType, source_value: Any,
                       path: Path | None, grouped_field_set: Any,
                       position_context: Any) -> Any:
        manager = self.middleware_manager
        if (position_context is not None
                or (manager is not None and manager._middleware_resolvers)):
            return super().execute_fields(parent_type, source_value, path, grouped_field_set,
                                          position_context)
        plan = self._plan(parent_type, grouped_field_set)
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for plain, (response_name, field_details_list) in zip(
                    plan, grouped_field_set.items(), strict=True):
                if plain is not None and plain[3] is None:
                    result = self._execute_object_field(
                        parent_type, source_value, field_details_list,
                        Path(path, response_name, parent_type.name), plain[1], plain[2])
                else:
                    if plain is not None:
                        _, attribute, leaf, non_null = plain
                        try:
                            value = getattr(source_value, attribute)
                            if value is None:
                                if not non_null:
                                    results[response_name] = None
                                    continue
                            elif value is not Undefined and not isinstance(value, Exception):
                                coerced = leaf.coerce_output_value(value)
                                if coerced is not None and coerced is not Undefined:
                                    results[response_name] = coerced
                                    continue
                        except Exception:  # noqa: BLE001, S110 - graphql-core reports it below
                            pass
                    # Not a plain success: graphql-core's own path decides what it becomes.
                    result = self.execute_field(
                        parent_type, source_value, field_details_list,
                        Path(path, response_name, parent_type.name), position_context)
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        awaitable_fields.append(response_name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[field] for field in awaitable_fields])
            raise
        if not awaitable_fields:
            return results
        return self._gather(results, awaitable_fields)

    def _execute_object_field(self, parent_type: GraphQLObjectType, source: Any,
                              field_details_list: Any, path: Path, getter: Any,
                              field_def: GraphQLField) -> Any:
        """graphql-core's `execute_field` for a value read by `getter` instead of returned
        by the resolver: the same completion and the same error handling around it."""
        try:
            value = getter(source, self.context_value)
        except Exception:  # noqa: BLE001 - the resolver runs and reports it
            value = Undefined
        if value is Undefined:
            return self.execute_field(parent_type, source, field_details_list, path, None)
        return_type = field_def.type
        site = _Site(self, field_def, parent_type, field_details_list)
        if self.is_awaitable(value):
            return self.complete_awaitable_value(return_type, field_details_list,
                                                 site.info(path), path, value, None)
        try:
            completed = self._complete(return_type, field_details_list, path, value, site)
            if self.is_awaitable(completed):
                return self._await_completed(completed, return_type, field_details_list, path)
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None
        return completed

    async def _await_completed(self, completed: Any, return_type: GraphQLOutputType,
                               field_details_list: Any, path: Path) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, return_type, field_details_list, path)
            return None

    def _complete(self, return_type: GraphQLOutputType, field_details_list: Any, path: Path,
                  result: Any, site: "_Site") -> Any:
        """`complete_value` for object types and lists of them; any other case is handed to
        graphql-core's own `complete_value` at the level where it arises."""
        if isinstance(result, Exception):
            raise result
        if isinstance(return_type, GraphQLNonNull):
            completed = self._complete(return_type.of_type, field_details_list, path, result,
                                       site)
            if completed is None:
                msg = ("Cannot return null for non-nullable field"
                       f" {site.parent_type}.{site.field_def_name}.")
                raise TypeError(msg)
            return completed
        if result is None or result is Undefined:
            return None
        if isinstance(return_type, GraphQLList):
            if type(result) is list and not any(self.is_awaitable(i) for i in result):
                return self._complete_list(return_type.of_type, field_details_list, path,
                                           result, site)
        elif (isinstance(return_type, GraphQLObjectType)
              and not _own_is_type_of(return_type)):
            # Strawberry's own check (an isinstance) does not read the resolve-info.
            if (return_type.is_type_of is not None
                    and not return_type.is_type_of(result, cast(GraphQLResolveInfo, None))):
                raise invalid_return_type_error(return_type, result, field_details_list)
            return self.collect_and_execute_subfields(return_type, field_details_list, path,
                                                      result, None)
        return self.complete_value(return_type, field_details_list, site.info(path), path,
                                   result, None)

    def _complete_list(self, item_type: GraphQLOutputType, field_details_list: Any,
                       path: Path, items: list[Any], site: "_Site") -> Any:
        """`complete_iterable_value` and `complete_list_item_value` for a list of values
        none of which is awaitable."""
        completed_results: list[Any] = []
        awaitable_indices: list[int] = []
        is_awaitable = self.is_awaitable
        try:
            for index, item in enumerate(items):
                item_path = path.add_key(index, None)
                try:
                    completed_item = self._complete(item_type, field_details_list, item_path,
                                                    item, site)
                    if is_awaitable(completed_item):
                        completed_item = self._await_completed(
                            completed_item, item_type, field_details_list, item_path)
                        awaitable_indices.append(index)
                except Exception as raw_error:
                    self.handle_field_error(raw_error, item_type, field_details_list,
                                            item_path)
                    completed_item = None
                completed_results.append(completed_item)
        except Exception:
            if awaitable_indices:
                self.settle_in_background([completed_results[i] for i in awaitable_indices])
            raise
        if not awaitable_indices:
            return completed_results
        return self._gather(completed_results, awaitable_indices)

    @staticmethod
    async def _gather(results: R, awaiting: list[Any]) -> R:
        """`results` (a field's dict or a list's items) with its awaitables at `awaiting`
        replaced by what they give, awaited together as graphql-core does."""
        if len(awaiting) == 1:
            results[awaiting[0]] = await results[awaiting[0]]
        else:
            awaited = await gather_with_cancel(*(results[key] for key in awaiting))
            for key, value in zip(awaiting, awaited, strict=True):
                results[key] = value
        return results


def _weakly(method: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`method` through a weak reference to its object."""
    reference = weakref.WeakMethod(method)

    def call(values: Any) -> Any:
        bound = reference()
        assert bound is not None, "the executor is in use while its helpers are"
        return bound(values)

    return call


class _Site:
    """Where a fast-completed value came from, and its resolve-info, built only if a case
    is handed back to graphql-core."""

    __slots__ = ("executor", "field_def", "field_details_list", "parent_type")

    def __init__(self, executor: FastExecutor, field_def: GraphQLField,
                 parent_type: GraphQLObjectType, field_details_list: Any) -> None:
        self.executor = executor
        self.field_def = field_def
        self.parent_type = parent_type
        self.field_details_list = field_details_list

    @property
    def field_def_name(self) -> str:
        return str(self.field_details_list[0].node.name.value)

    def info(self, path: Path) -> GraphQLResolveInfo:
        return self.executor.build_resolve_info(
            self.field_def, to_nodes(self.field_details_list), self.parent_type, path)
