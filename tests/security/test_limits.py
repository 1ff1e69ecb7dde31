"""Query limits checked before execution (depth, aliases, tokens, list cost, body size),
introspection and GraphiQL in production, and the validation cache staying effective."""

import uuid
from typing import Any

import httpx
import pytest

import schema.limits as limits
from schema.limits import rules_for
from tests.support.security import SECRET, app_client, gql, settings_with, token

DEEP = """query Deep { viewer { ...A } }
fragment A on Viewer { account { expertProfile { ...B } } }
fragment B on ExpertProfile { __typename }"""
NESTED = "{ conversations(first: 100) { messages(first: 100) { edges { node { id } } } } }"
NESTED_VARS = """query($a: Int, $b: Int = 100) {
  conversations(first: $a) { messages(first: $b) { edges { node { id } } } } }"""


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """One entry per call of the validation that schema/limits.py runs (and caches)."""
    calls: list[None] = []
    real_validate = limits.validate

    def counting_validate(*args: Any, **kwargs: Any) -> Any:
        calls.append(None)
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(limits, "validate", counting_validate)
    return calls


def _error(body: dict[str, Any]) -> dict[str, Any]:
    assert body.get("errors"), body
    return body["errors"][0]  # type: ignore[no-any-return]


async def test_depth_limit_counts_through_fragments(orm: str) -> None:
    settings = settings_with(max_query_depth=3)
    async with app_client(settings) as http:
        error = _error(await gql(http, DEEP, bearer=token(settings)))
        assert "4 levels deep" in error["message"] and "MAX_QUERY_DEPTH" in error["message"]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    async with app_client(settings_with(max_query_depth=4)) as http:
        assert (await gql(http, DEEP, bearer=token(settings))).get("errors") is None


async def test_alias_limit(orm: str) -> None:
    settings = settings_with(max_query_aliases=2)
    async with app_client(settings) as http:
        ok = await gql(http, "{ a: __typename b: __typename }")
        assert ok == {"data": {"a": "Query", "b": "Query"}}
        error = _error(await gql(http, "{ a: __typename b: __typename c: __typename }"))
    assert "3 aliases" in error["message"] and "MAX_QUERY_ALIASES" in error["message"]


async def test_token_limit(orm: str) -> None:
    async with app_client(settings_with(max_query_tokens=20)) as http:
        error = _error(await gql(http, "{ " + "__typename " * 30 + "}"))
    assert "more than 20 tokens" in error["message"]


async def test_cost_of_nested_lists_is_refused_above_the_budget(orm: str) -> None:
    settings = settings_with(max_query_cost=5000)
    bearer = token(settings)
    async with app_client(settings) as http:
        error = _error(await gql(http, NESTED, bearer=bearer))
        assert "10100" in error["message"] and "MAX_QUERY_COST" in error["message"]
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
        # Variables count with their values, their defaults, or the field's default.
        assert "10100" in _error(await gql(http, NESTED_VARS, {"a": 100}, bearer))["message"]
        small = await gql(http, NESTED_VARS, {"a": 10, "b": 10}, bearer)
        assert small.get("errors") is None, small
        assert (await gql(http, NESTED_VARS, {}, bearer)).get("errors") is None  # 20 + 2000
        # Aliases add up; repeated fragments are merged as execution merges them.
        aliased = """{ x: conversations(first: 50) { messages(first: 50) { edges { cursor } } }
                       y: conversations(first: 50) { messages(first: 50) { edges { cursor } } } }"""
        assert "5100" in _error(await gql(http, aliased, bearer=bearer))["message"]
        merged = """{ ...F ...F } fragment F on Query {
                     conversations(first: 50) { messages(first: 50) { edges { cursor } } } }"""
        assert (await gql(http, merged, bearer=bearer)).get("errors") is None


async def test_page_size_is_still_capped(orm: str) -> None:
    settings = settings_with()
    async with app_client(settings) as http:
        body = await gql(http, "{ meetings(first: 101) { edges { cursor } } }",
                         bearer=token(settings))
    assert "`first` must be between 0 and 100" in _error(body)["message"]


async def test_body_over_the_limit_is_413(orm: str) -> None:
    settings = settings_with(max_body_bytes=1024)
    big = {"query": "{ __typename }", "variables": {"pad": "x" * 2000}}
    async with app_client(settings) as http:
        response = await http.post("/graphql", json=big)
        assert response.status_code == 413
        assert "MAX_BODY_BYTES" in response.json()["errors"][0]["message"]

        async def chunks() -> Any:  # no Content-Length: counted while reading
            for _ in range(4):
                yield b" " * 400

        response = await http.post("/graphql", content=chunks(),
                                   headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        response = await http.post("/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 200 and response.json()["data"] == {
            "__typename": "Query"}


async def test_repeated_query_hits_the_validation_cache(orm: str,
                                                        validations: list[None]) -> None:
    settings = settings_with()
    bearer = token(settings)
    query = f"# {uuid.uuid4().hex}\n{{ viewer {{ account {{ id }} }} }}"
    async with app_client(settings) as http:
        for _ in range(3):
            assert (await gql(http, query, bearer=bearer)).get("errors") is None
    async with app_client(settings_with()) as http:  # another app, the same limits
        assert (await gql(http, query, bearer=bearer)).get("errors") is None
    assert len(validations) == 1
    assert rules_for(settings) is rules_for(settings_with())


PRODUCTION = {"environment": "production", "jwt_secret": SECRET}


async def test_introspection_and_graphiql_off_in_production(orm: str) -> None:
    introspect = "{ __schema { queryType { name } } }"
    html = {"Accept": "text/html"}
    settings = settings_with(**PRODUCTION)
    async with app_client(settings) as http:
        error = _error(await gql(http, introspect, bearer=token(settings)))
        assert "introspection" in error["message"].lower()
        assert (await gql(http, "{ __typename }", bearer=token(settings)))["data"] == {
            "__typename": "Query"}
        page = await http.get("/graphql", headers=html)
        assert page.status_code != 200 or "graphiql" not in page.text.lower()
    async with app_client(settings_with(**PRODUCTION, introspection=True, graphiql=True)) as http:
        body = await gql(http, introspect)
        assert body["data"]["__schema"]["queryType"]["name"] == "Query"
        page = await http.get("/graphql", headers=html)
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    async with app_client(settings_with(environment="development")) as http:
        assert (await gql(http, introspect)).get("errors") is None


def test_production_refuses_the_public_default_secret() -> None:
    from app.asgi import create_app
    from core.settings import Settings

    with pytest.raises(RuntimeError, match="JWT_SECRET"):
        create_app(Settings(environment="production"), manage_db=False)


async def test_nul_characters_are_refused_before_anything_runs(client: httpx.AsyncClient) -> None:
    """PostgreSQL text cannot hold U+0000 (found by the fuzzer): refused up front, readably,
    in literals and in variables, and nothing is written."""
    from tests.support.client import party

    expert = await party(client)
    literal = await expert.raw(
        'mutation { updateExpertProfile(input: {headline: "a\\u0000b"}) { errors { code } } }')
    variables = await expert.raw(
        "mutation($i: UpdateExpertProfileInput!) { updateExpertProfile(input: $i) "
        "{ errors { code } } }", {"i": {"skillNames": ["ok", "bad\x00"]}})
    for body in (literal, variables):
        assert body.get("data") is None, body
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
        assert "U+0000" in body["errors"][0]["message"]
    profile = await expert.q("{ viewer { account { expertProfile { headline } } } }")
    assert profile["viewer"]["account"]["expertProfile"] is None


async def test_directive_limit_is_checked_before_validation(
        orm: str, validations: list[None]) -> None:
    settings = settings_with(max_query_directives=5)
    bearer = token(settings)
    marker = f"m{uuid.uuid4().hex}"
    include = "@include(if: true)"
    async with app_client(settings) as http:
        for query in (f"{{ {marker}: __typename " + f"{include} " * 280 + "}",
                      f"{{ {marker}: __typename " + "@aa " * 990 + "}",
                      f"query Q{marker} {{ " + " ".join(
                          f"a{i}: __typename {include}" for i in range(6)) + " }"):
            body = await gql(http, query, bearer=bearer)
            assert body.get("data") is None, body
            [error] = body["errors"]
            assert error.get("extensions", {}).get("code") == "QUERY_TOO_COMPLEX", error
            assert "MAX_QUERY_DIRECTIVES" in error["message"]
        # The same directive twice on one node: refused with one error, not one per copy.
        [error] = (await gql(http, f"{{ {marker}: __typename @aa @aa @aa }}",
                             bearer=bearer))["errors"]
        assert "'@aa' is repeated" in error["message"]
        assert len(validations) == 0  # none of them reached validation
        within = " ".join(f"a{i}: __typename {include}" for i in range(5))
        for _ in range(2):
            ok = await gql(http, f"query Ok{marker} {{ {within} }}", bearer=bearer)
            assert ok.get("errors") is None and len(ok["data"]) == 5
    assert len(validations) == 1  # validated once, then from the cache
