"""GraphQL over HTTP: application/graphql-response+json (status codes, no `data` on request
errors) for clients that ask for it, application/json unchanged; anonymous requests refused
before parsing in production; expected client errors logged once, at INFO, without the
query."""

import logging
from typing import Any

import httpx
import pytest

from tests.support.security import SECRET, app_client, settings_with, token

GRAPHQL_RESPONSE = "application/graphql-response+json"
PRODUCTION = {"environment": "production", "jwt_secret": SECRET}
REQUEST_ERRORS = {
    "parse": {"query": "{ viewer { "},
    "validation": {"query": "{ nope }"},
    "variable coercion": {"query": "query($n: Int!) { __typename }", "variables": {"n": "x"}},
    "unknown directive": {"query": "{ __typename @nope }"},
}


async def _post(http: httpx.AsyncClient, body: dict[str, Any], accept: str | None,
                bearer: str | None = None) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    return await http.post("/graphql", json=body, headers=headers)


async def test_request_errors_are_400_without_data_under_graphql_response_json(
        orm: str) -> None:
    settings = settings_with()
    async with app_client(settings) as http:
        ok = await _post(http, {"query": "{ __typename }"}, GRAPHQL_RESPONSE)
        assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}
        assert ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        for kind, body in REQUEST_ERRORS.items():
            response = await _post(http, body, GRAPHQL_RESPONSE)
            assert response.status_code == 400, (kind, response.text)
            assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
            assert "data" not in response.json() and response.json()["errors"], kind
            # application/json (asked for, any, or no Accept at all): 200 with data null.
            for accept in ("application/json", "*/*", None):
                legacy = await _post(http, body, accept)
                assert legacy.status_code == 200, (kind, accept)
                assert legacy.headers["content-type"] == "application/json"
                assert legacy.json()["data"] is None and legacy.json()["errors"]
        # A field error is not a request error: data is there, 200.
        field_error = await _post(http, {"query": "{ reasons(kind: CANCELLATION) { code } }"},
                                  GRAPHQL_RESPONSE)
        assert field_error.status_code == 200
        body = field_error.json()
        assert "data" in body and body["errors"][0]["path"] == ["reasons"]


async def test_accept_preferences_are_followed(orm: str) -> None:
    async with app_client(settings_with()) as http:
        for accept, media_type in [
                (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
                (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
                (f"{GRAPHQL_RESPONSE};q=0", "application/json"),
                ("text/plain, */*", "application/json")]:
            response = await _post(http, REQUEST_ERRORS["validation"], accept)
            assert response.headers["content-type"].startswith(media_type), accept
            assert response.status_code == (400 if media_type == GRAPHQL_RESPONSE else 200)


async def test_production_refuses_anonymous_requests_before_parsing(orm: str) -> None:
    settings = settings_with(**PRODUCTION)
    async with app_client(settings) as http:
        for query in ("{ __typename }", "{ viewer { ", "{ nope }",
                      "{ __schema { types { name } } }"):
            refused = await _post(http, {"query": query}, GRAPHQL_RESPONSE)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert "data" not in refused.json()
            assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
            legacy = await _post(http, {"query": query}, "application/json")
            assert legacy.status_code == 200 and legacy.json()["data"] is None
            assert legacy.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        forged = token(settings_with(jwt_secret="another-secret-that-is-long-enough-32"))
        assert (await _post(http, {"query": "{ __typename }"}, GRAPHQL_RESPONSE,
                            forged)).status_code == 401
        ok = await _post(http, {"query": "{ __typename }"}, GRAPHQL_RESPONSE, token(settings))
        assert ok.status_code == 200 and ok.json() == {"data": {"__typename": "Query"}}
    # With introspection explicitly enabled, introspection alone stays open to anyone.
    async with app_client(settings_with(**PRODUCTION, introspection=True)) as http:
        schema = await _post(http, {"query": "{ __schema { queryType { name } } __typename }"},
                             GRAPHQL_RESPONSE)
        assert schema.status_code == 200
        assert schema.json()["data"]["__schema"]["queryType"]["name"] == "Query"
        fragment = await _post(http, {"query": "query { ...F } fragment F on Query { __typename "
                                               "reasons(kind: CANCELLATION) { code } }"},
                               GRAPHQL_RESPONSE)
        assert fragment.status_code == 401
        mixed = await _post(http, {"query": "{ __typename reasons(kind: CANCELLATION) { code } }"},
                            GRAPHQL_RESPONSE)
        assert mixed.status_code == 401


async def test_client_errors_are_one_info_line_without_the_query(
        orm: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_with(**PRODUCTION)
    bearer = token(settings)
    secret = "hunter2-literal"
    queries = [f'{{ viewer(password: "{secret}") {{ account {{ id }} }} }}',
               f'{{ nope(x: "{secret}") }}', f'{{ viewer {{ "{secret}"',
               "{ " + " ".join(f"f{i}" for i in range(120)) + f' x(s: "{secret}") }}']
    async with app_client(settings) as http:
        for query in queries:
            caplog.clear()
            with caplog.at_level(logging.DEBUG):
                response = await _post(http, {"query": query, "operationName": None,
                                              "variables": {"v": secret}}, GRAPHQL_RESPONSE,
                                       bearer)
            assert response.status_code == 400
            lines = [r for r in caplog.records if r.name.startswith(("meetings", "strawberry"))]
            assert len(lines) == 1, [(r.name, r.getMessage()) for r in lines]
            assert lines[0].levelno == logging.INFO and lines[0].name == "meetings.requests"
            assert secret not in lines[0].getMessage()
            assert all(secret not in str(v) for v in lines[0].__dict__.values())
            assert lines[0].__dict__["codes"], lines[0].__dict__
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            await _post(http, {"query": "{ __typename }"}, GRAPHQL_RESPONSE)  # anonymous
        assert [r.levelno for r in caplog.records if r.name.startswith("meetings")] == [
            logging.INFO]
