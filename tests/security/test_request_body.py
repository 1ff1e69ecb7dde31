"""Every top-level field of the request body of the wrong JSON type answers 400 naming the
field, over POST and GET; nothing a client sends there reaches the client as a masked error
or as an exception's text."""

import json
import re
from typing import Any

import httpx
import pytest

from tests.support.security import app_client, settings_with, token

FIELDS = ("query", "variables", "operationName", "extensions")
LONG = "x" * 20_000
VALUES: dict[str, Any] = {"number": 5, "object": {"a": 1}, "array": [1], "boolean": True,
                          "null": None, "long string": LONG}
# Which (field, kind) are of the right type; every other one is refused with 400.
ACCEPTED = {("query", "long string"), ("variables", "object"), ("variables", "null"),
            ("operationName", "null"), ("extensions", "object"), ("extensions", "null")}
EXCEPTION_TEXT = re.compile(r"Traceback|Error\b(?!s)|unhashable|object has no attribute|"
                            r"NoneType|not subscriptable|Unexpected server error")


def _clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:300]
    assert not EXCEPTION_TEXT.search(response.text.replace("Syntax Error", "")), \
        response.text[:300]


async def _post(http: httpx.AsyncClient, bearer: str, body: dict[str, Any],
                accept: str = "application/json") -> httpx.Response:
    return await http.post("/graphql", content=json.dumps(body), headers={
        "Authorization": f"Bearer {bearer}", "Content-Type": "application/json",
        "Accept": accept})


@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
async def test_post_fields_of_the_wrong_type_are_400_naming_the_field(orm: str,
                                                                      accept: str) -> None:
    settings = settings_with()
    bearer = token(settings)
    async with app_client(settings) as http:
        for field in FIELDS:
            for kind, value in VALUES.items():
                body = {"query": "{ __typename }", field: value}
                response = await _post(http, bearer, body, accept)
                _clean(response)
                if (field, kind) in ACCEPTED:
                    assert response.status_code in (200, 400), (field, kind)
                    continue
                assert response.status_code == 400, (field, kind, response.text[:200])
                assert f"`{field}`" in response.json()["errors"][0]["message"] or (
                    field == "query" and kind == "null"
                    and "query" in response.json()["errors"][0]["message"]), (field, kind)
                assert accept in response.headers["content-type"]


async def test_get_fields_of_the_wrong_type_are_400_naming_the_field(orm: str) -> None:
    settings = settings_with()
    bearer = token(settings)
    headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
    async with app_client(settings) as http:
        for field in ("variables", "extensions"):
            for kind, value in VALUES.items():
                raw = LONG if kind == "long string" else json.dumps(value)
                response = await http.get("/graphql", headers=headers, params={
                    "query": "{ __typename }", field: raw})
                _clean(response)
                if kind in ("object", "null"):
                    assert response.status_code == 200, (field, kind, response.text[:200])
                    assert response.json()["data"] == {"__typename": "Query"}
                    continue
                assert response.status_code == 400, (field, kind, response.text[:200])
                assert f"`{field}`" in response.json()["errors"][0]["message"]
        for name in ("5", "{}", "[1]", LONG, "two words"):
            response = await http.get("/graphql", headers=headers, params={
                "query": "{ __typename }", "operationName": name})
            _clean(response)
            assert response.status_code == 400, name
            assert "`operationName`" in response.json()["errors"][0]["message"]
        for query in ("5", "[1]", "true", LONG):
            response = await http.get("/graphql", headers=headers, params={"query": query})
            _clean(response)
            assert response.json()["errors"], query


async def test_a_body_that_is_not_a_json_object_is_400(orm: str) -> None:
    async with app_client(settings_with()) as http:
        for raw in ("5", '"text"', "true", "null", "{", "1" * 5000, b"\xff\xfe"):
            response = await http.post("/graphql", content=raw,
                                       headers={"Content-Type": "application/json"})
            _clean(response)
            assert response.status_code == 400, raw
            assert "JSON" in response.json()["errors"][0]["message"]


async def test_string_operation_names_still_work(orm: str) -> None:
    settings = settings_with()
    async with app_client(settings) as http:
        response = await _post(http, token(settings), {
            "query": "query A { __typename } query B { b: __typename }",
            "operationName": "B"})
    assert response.status_code == 200 and response.json() == {"data": {"b": "Query"}}
