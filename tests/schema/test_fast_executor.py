"""The fast executor (schema/executor.py) gives exactly what graphql-core's default executor
gives: the same data in the same key order, the same errors with the same messages,
locations, paths and extensions. Three ways: every operation the rest of the suite runs is
shadowed by the default executor (tests/support/differential.py, checked after each test); a small
schema of edge cases (nulls in non-null fields, failing coercions, raising attributes,
aliases, fragments, directives, __typename, interfaces, lists); and queries generated from
the API's schema by hypothesis-graphql, run on a market's data as its expert."""

import enum
import gc
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import graphql
import httpx
import pytest
import strawberry
from graphql.pyutils import Undefined
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import queries
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.schema import schema as api_schema
from models.accounts import Account as AccountRow
from resolvers.context import Context
from resolvers.loaders import Loaders
from schema.executor import READY, FastExecutor, object_getter, plain_attribute
from schema.scalars import from_global_id
from tests.support import differential
from tests.support.client import market
from tests.support.clock import T0

DEFAULT = StrawberryGraphQLCoreExecutionContext


async def run(schema: graphql.GraphQLSchema, query: str, executor: type[Any],
              context: Any = None, variables: dict[str, Any] | None = None) -> str:
    result = graphql.execute(schema, graphql.parse(query), context_value=context,
                             variable_values=variables, executor_class=executor)
    if graphql.pyutils.is_awaitable(result):
        result = await result
    assert isinstance(result, graphql.ExecutionResult)
    return differential.outcome(result)


# --- a schema of edge cases -------------------------------------------------------------------

class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):
    name: str
    nickname: str | None
    count: int
    ratio: float | None
    colour: Colour
    maybe_colour: Colour | None
    at: datetime | None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()


def _broken() -> Leaf:
    """A Leaf whose `count` attribute raises (as a property of a row might)."""

    class Broken(Leaf):
        @property  # type: ignore[override]
        def count(self) -> int:
            raise RuntimeError("count is broken")

    broken = object.__new__(Broken)
    broken.__dict__.update(name="b", nickname="n", ratio=None, colour=Colour.BLUE,
                           maybe_colour=Colour.BLUE, at=None)
    return broken


def _leaf(name: Any = "a", nickname: Any = None, count: Any = 1, ratio: Any = 0.5,
          colour: Any = Colour.RED, maybe_colour: Any = None, at: Any = None) -> Leaf:
    return Leaf(name=name, nickname=nickname, count=count, ratio=ratio, colour=colour,
                maybe_colour=maybe_colour, at=at)


async def _later_leaf(name: str) -> Leaf:
    return _leaf(name=name)


def _ready_leaf(source: "Holder", _context: Any) -> Any:
    if source.ready_mode == "raise":
        raise RuntimeError("ready is broken")
    return _leaf(name="ready") if source.ready_mode == "ready" else Undefined


@strawberry.type
class Holder(Named):
    """Object and list fields read from attributes (or a READY function) by the fast path."""

    name: str
    leaf: Leaf
    maybe_leaf: Leaf | None
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    grid: list[list[Leaf]]
    nameds: list[Named]
    holders: list["Holder"] | None
    ready_mode: strawberry.Private[str] = "ready"

    @strawberry.field(metadata={READY: _ready_leaf})
    async def prepared(self) -> Leaf:
        return _leaf(name="ready") if self.ready_mode == "ready" else _leaf(name="resolved")

    @strawberry.field
    def own(self) -> Leaf:
        """A resolver of `self` alone, which the fast path calls itself."""
        OWN_CALLS.append(self.name)
        if self.ready_mode == "raise":
            raise RuntimeError("own is broken")
        return cast(Leaf, None) if self.ready_mode == "later" else _leaf(name=self.name)

    @strawberry.field
    def own_with_info(self, info: strawberry.Info) -> Leaf:
        return _leaf(name=str(info.path.key))


OWN_CALLS: list[str] = []


def _holder(name: str = "h", **changes: Any) -> Holder:
    values: dict[str, Any] = dict(
        name=name, leaf=_leaf(), maybe_leaf=None, leaves=[_leaf(name="x"), _leaf(name="y")],
        maybe_leaves=[_leaf(), None], grid=[[_leaf()], []], nameds=[_leaf(name="n")],
        holders=None)
    values.update(changes)
    return Holder(**values)


class _RaisingHolder(Holder):
    @property  # type: ignore[override]
    def leaf(self) -> Leaf:
        raise RuntimeError("leaf is broken")


def _raising_holder() -> Holder:
    holder = object.__new__(_RaisingHolder)
    holder.__dict__.update(vars(_holder()))
    return holder


@strawberry.type
class EdgeQuery:
    @strawberry.field
    def good(self) -> Leaf:
        return _leaf(at=datetime(2030, 1, 7, 8, 0, tzinfo=UTC))

    @strawberry.field
    def null_name(self) -> Leaf | None:
        return _leaf(name=None)  # non-null String is None: bubbles to this nullable field

    @strawberry.field
    def null_name_required(self) -> Leaf:
        return _leaf(name=None)  # ... and through a non-null field to the root

    @strawberry.field
    def bad_count(self) -> Leaf | None:
        return _leaf(count="not a number")  # Int coercion fails

    @strawberry.field
    def huge_count(self) -> Leaf | None:
        return _leaf(count=2**40)  # Int out of range

    @strawberry.field
    def bad_colour(self) -> Leaf | None:
        return _leaf(colour="green", maybe_colour="green")  # not an enum value

    @strawberry.field
    def raising(self) -> Leaf | None:
        return _broken()

    @strawberry.field
    def leaves(self) -> list[Leaf]:
        return [_leaf(name="x"), _leaf(name=None), _leaf(name="z", nickname="zz")]

    @strawberry.field
    def maybe_leaves(self) -> list[Leaf | None]:
        return [_leaf(name="x"), _leaf(name=None), _leaf(count="bad")]

    @strawberry.field
    def named(self) -> list[Named]:
        return [_leaf(name="i"), _leaf(name="j", nickname="jj")]

    @strawberry.field
    async def later(self) -> Leaf | None:
        return _leaf(name=None)

    @strawberry.field
    def holder(self) -> Holder:
        return _holder(holders=[_holder("a"), _holder("b", ready_mode="later")])

    @strawberry.field
    def bad_holders(self) -> list[Holder | None]:
        return [
            _holder("null-leaf", leaf=None),  # non-null object is None: bubbles to the item
            _holder("null-item", leaves=[_leaf(), None]),  # ... a non-null list item
            _holder("null-in-nullable", maybe_leaves=[None, _leaf(name=None)]),
            _holder("wrong-type", maybe_leaf="a string", nameds=["not a Named"]),
            _holder("not-a-list", leaves="abc", grid=[(_leaf(),)]),  # str; tuple: graphql-core
            _holder("generator", leaves=(x for x in [_leaf(name="g")])),
            _holder("awaitable-item", leaves=[_later_leaf("aw"), _leaf()]),
            _holder("ready-raises", ready_mode="raise"),
            _holder("ready-later", ready_mode="later"),
            _raising_holder(),
            _holder("exception-value", maybe_leaf=ValueError("an exception as a value")),
        ]

    @strawberry.field
    def own_holders(self) -> list[Holder | None]:
        return [_holder("fine"), _holder("own-raises", ready_mode="raise"),
                _holder("own-null", ready_mode="later"), _raising_holder()]


EDGE = strawberry.Schema(query=EdgeQuery)._schema
ALL = "name nickname count ratio colour maybeColour at shout __typename"
EDGE_QUERIES = [
    f"{{ good {{ {ALL} }} }}",
    f"{{ nullName {{ {ALL} }} good {{ name }} }}",
    f"{{ nullNameRequired {{ {ALL} }} good {{ name }} }}",
    "{ badCount { name count } hugeCount { count name } badColour { colour maybeColour } }",
    f"{{ raising {{ {ALL} }} }}",
    "{ raising { name nickname maybeColour } }",
    "{ leaves { name nickname } }",
    "{ maybeLeaves { name count } }",
    "{ a: good { x: name y: name z: count } b: good { name } }",
    "{ good { ...F ... on Leaf { nickname count } name } } fragment F on Leaf { colour name }",
    "query($s: Boolean!) { good { name @skip(if: $s) count @include(if: $s) colour } }",
    "{ named { __typename name ... on Leaf { nickname } } }",
    "{ later { name } good { name } }",
    "mutation { __typename }",
    "{ holder { name leaf { name } maybeLeaf { name } leaves { name count } "
    "maybeLeaves { name } grid { name } nameds { name __typename } prepared { name } "
    "holders { name prepared { name } leaf { ...F } } } } fragment F on Leaf { name colour }",
    "{ badHolders { name leaf { name } maybeLeaf { name } leaves { name } "
    "maybeLeaves { name } grid { name } nameds { name } prepared { name } } }",
    "{ ownHolders { name own { name } ownWithInfo { name } } holder { own { name } "
    "holders { own { ...F } } } } fragment F on Leaf { name colour }",
    "{ badHolders { x: leaves { name } y: leaves { nickname } maybeLeaf { name } } }",
]


@pytest.mark.parametrize("query", EDGE_QUERIES)
async def test_edge_cases_complete_as_the_default_executor_does(query: str) -> None:
    variables = {"s": True} if "$s" in query else None
    fast = await run(EDGE, query, FastExecutor, variables=variables)
    default = await run(EDGE, query, DEFAULT, variables=variables)
    assert fast == default


async def test_a_resolver_of_self_alone_runs_once_and_reports_as_graphql_core_does() -> None:
    query = "{ ownHolders { name own { name } } }"
    OWN_CALLS.clear()
    body = json.loads(await run(EDGE, query, FastExecutor))
    assert len(OWN_CALLS) == len(set(OWN_CALLS)) == len(body["data"]["ownHolders"])
    messages = {error["message"] for error in body["errors"]}
    assert {"own is broken", "Cannot return null for non-nullable field Holder.own."} <= messages
    holder = EDGE.get_type("Holder")
    assert isinstance(holder, graphql.GraphQLObjectType)
    assert object_getter(EDGE, holder, "own") is not None
    assert object_getter(EDGE, holder, "ownWithInfo") is None  # it needs a resolve-info


async def test_the_edge_cases_do_produce_errors_and_nulls() -> None:
    """Not vacuous: the cases above really exercise bubbling, coercion and raising."""
    body = json.loads(await run(EDGE, EDGE_QUERIES[1], FastExecutor))
    assert body["data"] == {"nullName": None, "good": {"name": "a"}}
    assert body["errors"][0]["path"] == ["nullName", "name"]
    assert "Cannot return null for non-nullable field Leaf.name." in body["errors"][0]["message"]
    body = json.loads(await run(EDGE, EDGE_QUERIES[2], FastExecutor))
    assert body["data"] is None
    body = json.loads(await run(EDGE, EDGE_QUERIES[4], FastExecutor))
    assert body["errors"][0]["message"] == "count is broken"
    assert body["errors"][0]["path"] == ["raising", "count"]


def test_plain_fields_take_the_fast_path() -> None:
    leaf = EDGE.get_type("Leaf")
    assert isinstance(leaf, graphql.GraphQLObjectType)
    assert plain_attribute(EDGE, leaf, "name") == ("name", graphql.GraphQLString, True)
    assert plain_attribute(EDGE, leaf, "maybeColour") is not None
    assert plain_attribute(EDGE, leaf, "shout") is None  # has a resolver
    meeting = api_schema._schema.get_type("Meeting")
    assert isinstance(meeting, graphql.GraphQLObjectType)
    for name in ("status", "startsAt", "priceCredits", "version"):
        assert plain_attribute(api_schema._schema, meeting, name) is not None, name
    assert plain_attribute(api_schema._schema, meeting, "timeline") is None
    holder = EDGE.get_type("Holder")
    assert isinstance(holder, graphql.GraphQLObjectType)
    for name in ("leaf", "maybeLeaf", "leaves", "grid", "holders", "prepared"):
        assert object_getter(EDGE, holder, name) is not None, name
    assert object_getter(EDGE, leaf, "shout") is None  # a resolver and no READY function
    for name in ("user", "expert", "service", "skill", "timeline"):
        assert object_getter(api_schema._schema, meeting, name) is not None, name


async def test_a_primed_meeting_list_completes_without_resolver_calls(
        client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the root field, the list's objects, lists and scalars all take the fast path:
    graphql-core's execute_field runs for no field of a meeting, edge or relation."""
    m = await market(client)
    await m.request(T0 + timedelta(days=3))
    await m.request(T0 + timedelta(days=4))
    executed: list[str] = []
    original = FastExecutor.execute_field

    def spy(self: FastExecutor, parent_type: Any, source: Any, field_details_list: Any,
            path: Any, position_context: Any) -> Any:
        executed.append(f"{parent_type.name}.{field_details_list[0].node.name.value}")
        return original(self, parent_type, source, field_details_list, path, position_context)

    monkeypatch.setattr(FastExecutor, "execute_field", spy)
    data = await m.expert.q("""{ meetings(role: EXPERT, first: 5) { totalCount
      pageInfo { hasNextPage endCursor } edges { cursor node { id status startsAt
      user { id displayName } expert { id } service { id title } skill { id name }
      timeline { kind label at } } } } }""")
    assert len(data["meetings"]["edges"]) == 2
    assert all(e["node"]["timeline"] for e in data["meetings"]["edges"])
    assert executed == ["Query.meetings"]  # the shadowing default run is not a FastExecutor


class _Wrong(FastExecutor):
    """An executor that gets one thing wrong: a plain String comes out reversed."""

    def execute_fields(self, *args: Any) -> Any:
        result = super().execute_fields(*args)
        if isinstance(result, dict):
            return {k: v[::-1] if isinstance(v, str) else v for k, v in result.items()}
        return result


async def test_the_comparison_catches_a_difference() -> None:
    query = EDGE_QUERIES[0]
    assert await run(EDGE, query, _Wrong) != await run(EDGE, query, DEFAULT)


async def test_the_suite_is_shadowed(client: httpx.AsyncClient) -> None:
    """The other tests' operations are compared: this process's executor is the shadowed
    one, and an operation run here is counted."""
    assert api_schema.execution_context_class is differential.ShadowedExecutor
    before = differential.COMPARED[0]
    m = await market(client)
    await m.expert.q("{ viewer { account { id displayName } } }")
    assert differential.COMPARED[0] > before
    assert not differential.MISMATCHES


# --- generated queries on the API's schema ---------------------------------------------------

DATETIMES = st.sampled_from(["2030-01-07T08:00:00Z", "2030-01-09T08:00:00+02:00",
                             "2030-02-01T00:00:00Z", "2029-12-31T23:00:00Z"])
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20")) * 6
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"
_context: dict[str, Any] = {}
# Global ids of the market's rows, filled in by the fixture before the first example; an
# ID argument draws one of them (or a junk one), so that generated queries reach real rows.
REAL_IDS: list[str] = []
IDS = st.one_of(st.integers(0, 63).map(lambda i: REAL_IDS[i % len(REAL_IDS)] if REAL_IDS
                                       else "junk"),
                st.sampled_from(["", "junk", "TWVldGluZzow"]))


@pytest.fixture
async def expert_with_meetings(client: httpx.AsyncClient) -> AccountRow:
    if "account" not in _context:
        m = await market(client)
        requested = await m.request(T0 + timedelta(days=3))
        await m.expert.mutate("confirmMeeting", {"meetingId": requested["meeting"]["id"]},
                              "MeetingRefInput")
        second = await m.request(T0 + timedelta(days=4))
        REAL_IDS.extend([requested["meeting"]["id"], second["meeting"]["id"], m.expert.id,
                         m.user.id, m.service_id, m.skill_id])
        pk = from_global_id(m.expert.id, "Account")
        _context["account"] = await AccountRow.get(id=pk)
    return _context["account"]  # type: ignore[no-any-return]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=DERANDOMIZE,
          suppress_health_check=list(HealthCheck))
@given(query=queries(api_schema._schema, allow_x00=False, custom_scalars={
    "DateTime": DATETIMES.map(lambda s: graphql.StringValueNode(value=s)),
    "ID": IDS.map(lambda s: graphql.StringValueNode(value=s))}))
async def test_generated_queries_complete_as_the_default_executor_does(
        expert_with_meetings: AccountRow, query: str) -> None:
    outcomes = []
    for executor in (FastExecutor, DEFAULT):
        context = Context(account=expert_with_meetings,
                          loaders=Loaders(expert_with_meetings.id))
        outcomes.append(await run(api_schema._schema, query, executor, context))
    assert outcomes[0] == outcomes[1], query


async def test_a_request_leaves_no_reference_cycle(expert_with_meetings: AccountRow) -> None:
    """The executor does not hold itself (through its resolve-info helpers): what a list
    request built is freed when it ends, not left for the cyclic collector."""
    query = """{ meetings(first: 5) { edges { node { id user { id } timeline { kind } } } } }"""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        context = Context(account=expert_with_meetings,
                          loaders=Loaders(expert_with_meetings.id))
        body = json.loads(await run(api_schema._schema, query, FastExecutor, context))
        assert body["data"]["meetings"]["edges"]
        del context
        gc.collect()
        left = {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert not left & {"FastExecutor", "Context", "Loaders", "DataLoader", "MeetingRow"}, left
