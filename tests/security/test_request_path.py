"""The HTTP request path of app/graphql_http.py: the fast path and Starlette's stack (CORS)
answer alike, bodies are read as json.loads reads them, and a repeated text is parsed and
validated once."""

import json
import uuid
from typing import Any

import httpx
import pytest

import app.operation
from app.graphql_http import decode_json
from tests.support.security import SECRET, app_client, settings_with, token

PRODUCTION = {"environment": "production", "jwt_secret": SECRET}


@pytest.mark.parametrize("raw", [
    b'{"n": 18446744073709551616}',  # past 64 bits: orjson would answer a float
    b'{"n": -9223372036854775809}',
    b'{"n": 9223372036854775807, "m": 1.5e300}',
    b'{"n": NaN, "m": -Infinity}',  # json.loads' extensions
    b'{"s": "\\ud800"}',  # a lone surrogate
    b'\xef\xbb\xbf{"a": 1}',  # a UTF-8 byte order mark
    b'{"a": 1, "a": 2}',
    b'{"a": 1e400}',
])
def test_bodies_are_read_as_json_loads_reads_them(raw: bytes) -> None:
    expected = json.loads(raw)
    value = decode_json(raw)
    assert repr(value) == repr(expected)
    assert [type(v) for v in value.values()] == [type(v) for v in expected.values()]


@pytest.mark.parametrize("raw", [b"{bad", b"\xff\xfe", b"", b"{}\x00"])
def test_what_json_loads_refuses_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(raw)
    with pytest.raises(ValueError):
        decode_json(raw)


def _comparable(response: Any) -> tuple[int, str, str, Any]:
    return (response.status_code, response.headers["content-type"],
            response.headers.get("vary", ""), response.json())


async def test_the_fast_path_answers_as_the_cors_stack_does(orm: str) -> None:
    settings = settings_with(**PRODUCTION, cors_origins=["https://app.example"])
    bearer = {"Authorization": f"Bearer {token(settings)}"}
    origin = {"Origin": "https://app.example"}
    bodies: list[dict[str, Any]] = [
        {"query": "{ viewer { account { id } } }"},
        {"query": "{ nope }"},
        {"query": "mutation { __typename }", "operationName": 5},
    ]
    async with app_client(settings) as http:
        for body in bodies:
            for accept in ("application/json", "application/graphql-response+json"):
                headers = {**bearer, "Accept": accept}
                fast = await http.post("/graphql", json=body, headers=headers)
                stack = await http.post("/graphql", json=body, headers={**headers, **origin})
                assert stack.headers["access-control-allow-origin"] == "https://app.example"
                assert "access-control-allow-origin" not in fast.headers
                assert _comparable(fast) == _comparable(stack)
                assert fast.headers["x-request-id"] and stack.headers["x-request-id"]


async def test_a_repeated_text_is_parsed_once(orm: str, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    parses: list[str] = []
    real_parse = app.operation.parse

    def counting_parse(text: str, **options: Any) -> Any:
        parses.append(text)
        return real_parse(text, **options)

    monkeypatch.setattr(app.operation, "parse", counting_parse)
    settings = settings_with()
    bearer = {"Authorization": f"Bearer {token(settings)}"}
    query = f"# {uuid.uuid4().hex}\n{{ viewer {{ account {{ id }} }} }}"
    broken = f"# {uuid.uuid4().hex}\n{{ viewer {{ "
    async with app_client(settings) as http:
        for _ in range(3):
            ok = await http.post("/graphql", json={"query": query}, headers=bearer)
            assert ok.json()["data"]["viewer"]["account"]["id"]
            bad = await http.post("/graphql", json={"query": broken}, headers=bearer)
            assert bad.json()["errors"][0]["message"].startswith("Syntax Error")
    assert parses == [query, broken]


async def test_an_unexpected_exception_is_500_on_both_paths(
        orm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import auth
    from app.asgi import create_app

    async def broken(*_: Any) -> None:
        raise RuntimeError("a bug before the operation")

    monkeypatch.setattr(auth, "authenticate_context", broken)
    settings = settings_with(**PRODUCTION, cors_origins=["https://app.example"])
    transport = httpx.ASGITransport(app=create_app(settings, manage_db=False),
                                    raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        body = {"query": "{ __typename }"}
        fast = await http.post("/graphql", json=body)
        stack = await http.post("/graphql", json=body, headers={"Origin": "https://app.example"})
    for response in (fast, stack):
        assert response.status_code == 500
        assert response.text == "Internal Server Error"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
