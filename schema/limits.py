"""Query limits, checked before execution: tokens (in the parser), directives (before
validation), depth, aliases and introspection (validation rules), and a cost estimate of list
sizes (after validation): `document_errors` and `request_errors`, called by the HTTP pipeline
(app/operation.py) and by the `QueryLimits` extension (operations Strawberry runs). The
validation runs through a cache, with graphql-core's `hide_suggestions` unless SUGGESTIONS is
on (development): no "Did you mean" in production for fields, arguments, types or enum
values.

Strawberry's validation cache is an `lru_cache` over `(schema, document, validation_rules)`:
a rule class built per request (QueryDepthLimiter and MaxAliasesLimiter in factory form)
makes every key new and defeats it. So the rule classes are built once per distinct limit
values (`validation_rules` is memoised) and the same tuple is appended on every request; a
repeated query hits the cache. The cost plan depends on variables (`first: $n`), so it is
not a validation rule: its shape is memoised per parsed document (by identity) and evaluated
with the request's variables, which costs a few additions. The directive count is memoised
the same way.

A document with more directives than MAX_QUERY_DIRECTIVES, or one directive repeated on one
node (no directive of this schema is repeatable), is refused before validation: validating
hundreds of directives costs tens of milliseconds and answers one error each.
"""

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    is_object_type,
    validate,
)
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from core.errors import ErrorCode, RequestErrorCode
from core.settings import Settings, get_settings
from schema.errors import request_error
from schema.hints import without_type_names

LIMIT_CODE = RequestErrorCode.QUERY_TOO_COMPLEX
DEFAULT_PAGE = 20
# A query's shape is walked at most this many selections deep into its fragments; beyond
# that it is refused, so that the walk itself stays cheap whatever the document.
WALK_BUDGET = 5000


def _limit_error(message: str, nodes: Any = None) -> GraphQLError:
    return request_error(LIMIT_CODE, message, nodes)


def _is_introspection(node: FieldNode) -> bool:
    return node.name.value in ("__schema", "__type")


def _depth_rule(max_depth: int) -> type[ASTValidationRule]:
    class QueryDepthRule(ValidationRule):
        """Fields nested deeper than MAX_QUERY_DEPTH; introspection subtrees are exempt (they
        are bounded by the schema and switched off in production)."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments: dict[str, FragmentDefinitionNode] = {
                d.name.value: d for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)}
            self.memo: dict[str, int] = {}

        def depth(self, selection_set: SelectionSetNode | None, seen: frozenset[str]) -> int:
            deepest = 0
            for sel in selection_set.selections if selection_set else ():
                if isinstance(sel, FieldNode):
                    if not _is_introspection(sel):
                        deepest = max(deepest, 1 + self.depth(sel.selection_set, seen))
                elif isinstance(sel, InlineFragmentNode):
                    deepest = max(deepest, self.depth(sel.selection_set, seen))
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    if name in seen or name not in self.fragments:
                        continue  # cycles and unknown fragments are other rules' errors
                    if name not in self.memo:
                        self.memo[name] = self.depth(self.fragments[name].selection_set,
                                                     seen | {name})
                    deepest = max(deepest, self.memo[name])
            return deepest

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            depth = self.depth(node.selection_set, frozenset())
            if depth > max_depth:
                name = f" {node.name.value}" if node.name else ""
                self.report_error(_limit_error(
                    f"Operation{name} is {depth} levels deep; the limit is {max_depth} "
                    "(MAX_QUERY_DEPTH).", node))

    return QueryDepthRule


def _alias_rule(max_aliases: int) -> type[ASTValidationRule]:
    class QueryAliasesRule(ValidationRule):
        """More than MAX_QUERY_ALIASES aliases in one document."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            if node.alias:
                self.count += 1

        def leave_document(self, node: DocumentNode, *_: Any) -> None:
            if self.count > max_aliases:
                self.report_error(_limit_error(
                    f"The document uses {self.count} aliases; the limit is {max_aliases} "
                    "(MAX_QUERY_ALIASES)."))

    return QueryAliasesRule


class NoNulCharacters(ValidationRule):
    """PostgreSQL text cannot hold U+0000: refuse it in the document's string literals (and,
    in QueryLimits, in the variables) before anything runs, instead of failing on write."""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if "\x00" in node.value:
            self.report_error(request_error(ErrorCode.INVALID_INPUT, NUL_MESSAGE, node))


NUL_MESSAGE = "Text may not contain the NUL character (U+0000)."


def has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


@lru_cache(maxsize=16)
def validation_rules(max_depth: int, max_aliases: int, introspection: bool
                     ) -> tuple[type[ASTValidationRule], ...]:
    """The same tuple of the same classes for the same limits: the validation cache's key."""
    rules = [_depth_rule(max_depth), _alias_rule(max_aliases), NoNulCharacters]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def rules_for(settings: Settings) -> tuple[type[ASTValidationRule], ...]:
    return validation_rules(settings.max_query_depth, settings.max_query_aliases,
                            settings.introspection_enabled)


# The cost plan: one term per list field that takes `first`, the product of the page sizes
# along its path (an estimate of how many nodes the query may fetch). A factor is a number,
# or a variable's name with the number to use when the request does not give it.
Factor = int | tuple[str, int]
Plan = tuple[tuple[Factor, ...], ...]


class _TooComplex(Exception):
    pass


def _page_factor(node: FieldNode, field_default: Any,
                 variable_defaults: dict[str, Any]) -> Factor:
    fallback = field_default if isinstance(field_default, int) else DEFAULT_PAGE
    for arg in node.arguments or ():
        if arg.name.value != "first":
            continue
        if isinstance(arg.value, IntValueNode):
            return int(arg.value.value)
        if isinstance(arg.value, VariableNode):
            name = arg.value.name.value
            default = variable_defaults.get(name)
            return name, default if isinstance(default, int) else fallback
        return fallback  # `first: null`
    return fallback


def cost_plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
              ) -> Plan | None:
    """None when the shape is too large to walk (refused as too complex). Fields that share a
    response key are merged as execution merges them, so repeated fragments count once."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next((o for o in operations
                      if operation_name is None or (o.name and o.name.value == operation_name)),
                     None)
    if operation is None:
        return ()
    root = schema.get_root_type(operation.operation)
    if root is None:
        return ()
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}
    variable_defaults: dict[str, Any] = {}
    for var in operation.variable_definitions or ():
        if isinstance(var.default_value, IntValueNode):
            variable_defaults[var.variable.name.value] = int(var.default_value.value)
    terms: list[tuple[Factor, ...]] = []
    budget = [WALK_BUDGET]

    def collect(selection_sets: list[SelectionSetNode], into: dict[str, list[FieldNode]],
                visited: set[str]) -> None:
        for selection_set in selection_sets:
            for sel in selection_set.selections:
                budget[0] -= 1
                if budget[0] < 0:
                    raise _TooComplex
                if isinstance(sel, FieldNode):
                    key = sel.alias.value if sel.alias else sel.name.value
                    into.setdefault(key, []).append(sel)
                elif isinstance(sel, InlineFragmentNode):
                    collect([sel.selection_set], into, visited)
                elif isinstance(sel, FragmentSpreadNode):
                    name = sel.name.value
                    if name not in visited and name in fragments:
                        visited.add(name)
                        collect([fragments[name].selection_set], into, visited)

    def walk(parent: Any, selection_sets: list[SelectionSetNode],
             factors: tuple[Factor, ...]) -> None:
        fields: dict[str, list[FieldNode]] = {}
        collect(selection_sets, fields, set())
        for nodes in fields.values():
            name = nodes[0].name.value
            if name.startswith("__"):
                continue
            definition = getattr(parent, "fields", {}).get(name)
            if definition is None:
                # A field of an abstract type's member (inline fragment on a concrete type):
                # an estimate does not need its exact definition; look it up by name.
                definition = _find_field(schema, name)
                if definition is None:
                    continue
            here = factors
            first = definition.args.get("first")
            if first is not None:
                default = first.default_value if first.default_value is not Undefined \
                    else None
                here = (*factors, _page_factor(nodes[0], default, variable_defaults))
                terms.append(here)
            children = [n.selection_set for n in nodes if n.selection_set]
            if children:
                walk(get_named_type(definition.type), children, here)

    try:
        walk(root, [operation.selection_set], ())
    except _TooComplex:
        return None
    return tuple(terms)


def _find_field(schema: GraphQLSchema, name: str) -> Any:
    for named in schema.type_map.values():
        if is_object_type(named) and name in named.fields:
            return named.fields[name]
    return None


def evaluate(plan: Plan, variables: dict[str, Any] | None) -> int:
    total = 0
    for term in plan:
        product = 1
        for factor in term:
            if isinstance(factor, int):
                product *= max(factor, 0)
            else:
                value = (variables or {}).get(factor[0], factor[1])
                product *= max(value, 0) if isinstance(value, int) else factor[1]
        total += product
    return total


# Plans by the identity of the parsed document (the parser cache hands out the same object
# for the same text): graphql-core hashes documents by content, which an lru_cache would pay
# on every request. The entry holds the document, so its id is not reused while cached.
_plans: dict[tuple[int, int, str | None], tuple[DocumentNode, Plan | None]] = {}
PLAN_CACHE_SIZE = 1024


def query_cost(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
               variables: dict[str, Any] | None) -> int | None:
    key = (id(schema), id(document), operation_name)
    hit = _plans.get(key)
    if hit is not None and hit[0] is document:
        plan = hit[1]
    else:
        plan = cost_plan(schema, document, operation_name)
        if len(_plans) >= PLAN_CACHE_SIZE:
            _plans.clear()
        _plans[key] = (document, plan)
    return None if plan is None else evaluate(plan, variables)


# Directives: counted once per parsed document (by identity, as the plans are).
_directive_counts: dict[int, tuple[DocumentNode, int, str | None]] = {}


def _directive_census(document: DocumentNode) -> tuple[int, str | None]:
    """How many directives the document uses, and a directive name repeated on one node."""
    total = 0
    repeated: str | None = None
    stack: list[Any] = list(document.definitions)
    while stack:
        node = stack.pop()
        directives: tuple[DirectiveNode, ...] = getattr(node, "directives", None) or ()
        if directives:
            total += len(directives)
            if repeated is None and len(directives) > 1:
                names = [d.name.value for d in directives]
                repeated = next((n for n in names if names.count(n) > 1), None)
        stack.extend(getattr(node, "variable_definitions", None) or ())
        selection_set = getattr(node, "selection_set", None)
        if selection_set is not None:
            stack.extend(selection_set.selections)
    return total, repeated


def directive_census(document: DocumentNode) -> tuple[int, str | None]:
    hit = _directive_counts.get(id(document))
    if hit is not None and hit[0] is document:
        return hit[1], hit[2]
    total, repeated = _directive_census(document)
    if len(_directive_counts) >= PLAN_CACHE_SIZE:
        _directive_counts.clear()
    _directive_counts[id(document)] = (document, total, repeated)
    return total, repeated


def directive_error(document: DocumentNode, limit: int) -> GraphQLError | None:
    total, repeated = directive_census(document)
    if total > limit:
        return request_error(LIMIT_CODE, f"The document uses {total} directives; the limit "
                             f"is {limit} (MAX_QUERY_DIRECTIVES).")
    if repeated is not None:
        return request_error(LIMIT_CODE, f"The directive '@{repeated}' is repeated on one "
                             "location; a directive may be used once per location "
                             "(MAX_QUERY_DIRECTIVES).")
    return None


@lru_cache(maxsize=1024)
def validate_cached(schema: GraphQLSchema, document: DocumentNode,
                    rules: tuple[type[ASTValidationRule], ...], hide_suggestions: bool
                    ) -> list[GraphQLError]:
    """graphql-core's validation with Strawberry's two extra rules (as Strawberry's own
    ValidationCache runs it); with `hide_suggestions`, no "Did you mean" and no type names
    in the messages (schema/hints.py). The key is the same objects for the same query under
    the same limits, so a repeated query is validated once."""
    errors = validate(schema, document,
                      (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
                      hide_suggestions=hide_suggestions)
    return without_type_names(errors) if hide_suggestions else errors


def document_errors(schema: GraphQLSchema, document: DocumentNode,
                    rules: tuple[type[ASTValidationRule], ...], settings: Settings
                    ) -> list[GraphQLError]:
    """What does not depend on the variables: the directive limit (before validation), then
    validation (cached) under `rules`."""
    refused = directive_error(document, settings.max_query_directives)
    if refused is not None:
        return [refused]
    return validate_cached(schema, document, rules, not settings.suggestions_enabled)


def request_errors(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                   variables: dict[str, Any] | None, settings: Settings) -> list[GraphQLError]:
    """What depends on the variables, for a document that validated: NUL characters, then
    the cost of the lists."""
    if has_nul(variables):
        return [request_error(ErrorCode.INVALID_INPUT, NUL_MESSAGE)]
    limit = settings.max_query_cost
    cost = query_cost(schema, document, operation_name, variables)
    if cost is None:
        return [request_error(
            LIMIT_CODE, "The query's shape is too large to estimate (MAX_QUERY_COST).")]
    if cost > limit:
        return [request_error(
            LIMIT_CODE,
            f"The query may fetch about {cost} list items (the product of `first` "
            f"along nested lists); the limit is {limit} (MAX_QUERY_COST).")]
    return []


class QueryLimits(SchemaExtension):
    """Sets the parser's token limit and the limit rules per operation; `document_errors`
    (unless a trusted document's verdict is given), then `request_errors`, with the request
    context's settings. For operations Strawberry's Schema runs (WebSockets; HTTP checks the
    same in app/operation.py). Replaces Strawberry's ValidationCache (which cannot hide
    suggestions)."""

    def _settings(self) -> Settings:
        settings = getattr(self.execution_context.context, "settings", None)
        return settings if isinstance(settings, Settings) else get_settings()

    def on_operation(self) -> Iterator[None]:
        ec = self.execution_context
        settings = self._settings()
        ec.parse_options["max_tokens"] = settings.max_query_tokens
        ec.validation_rules = ec.validation_rules + rules_for(settings)
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        settings = self._settings()
        document = ec.graphql_document
        if ec.pre_execution_errors is None and document is not None:
            ec.pre_execution_errors = document_errors(ec.schema._schema, document,
                                                      tuple(ec.validation_rules), settings)
        if not ec.pre_execution_errors and document is not None:
            ec.pre_execution_errors = request_errors(ec.schema._schema, document,
                                                     ec.operation_name, ec.variables, settings)
        yield
