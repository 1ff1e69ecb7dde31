"""Probes a real production server (uvicorn, ENVIRONMENT=production, JSON logs) as the
outside audit did: misspelt fields, arguments, types, enum values and directives get no
suggestion, and guessed fields no type name, with or without a token; wrong-typed body
fields get 400; a bad request adds at most 1 KiB to the log (access line included), nothing
at ERROR, never the query's text."""

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.live import server
from tests.support.security import MISSPELT, SECRET, TYPE_PROBES, settings_with, token

PRODUCTION = {"ENVIRONMENT": "production", "JWT_SECRET": SECRET, "LOG_FORMAT": "json"}
SECRET_LITERAL = "hunter2-in-a-literal"
UNKNOWN_120 = "{ " + " ".join(f"f{i}" for i in range(120)) + " }"  # the audit's flood
BAD_REQUESTS: list[dict[str, Any]] = [
    {"query": UNKNOWN_120},
    {"query": f'{{ viewer(password: "{SECRET_LITERAL}") {{ account {{ id }} }} }}'},
    {"query": "{ viewer { account { id } "},                        # syntax
    {"query": "{ __typename " + "@include(if: true) " * 280 + "}"},  # directive flood
    {"query": "{ __typename }", "operationName": {"x": 1}},         # wrong type: 400
    {"query": "{ __typename }", "variables": [SECRET_LITERAL]},     # wrong type: 400
]
ROUNDS = 20


def _log_size(log: Path) -> int:
    time.sleep(0.3)  # the server writes its lines after the response
    return log.stat().st_size


async def test_a_production_server_says_nothing_it_should_not(orm: str, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    bearer = token(settings_with(jwt_secret=SECRET))
    with server(orm, settings=PRODUCTION, log=log) as base:
        url = f"http://{base}/graphql"
        async with httpx.AsyncClient(timeout=10) as http:
            for headers in ({}, {"Authorization": f"Bearer {bearer}"}):
                for query, variables in MISSPELT:
                    response = await http.post(url, json={"query": query,
                                                          "variables": variables},
                                               headers=headers)
                    assert response.json()["errors"], query
                    assert "Did you mean" not in response.text, (query, response.text)
                for query, type_name in TYPE_PROBES:  # clairvoyance's type probes
                    response = await http.post(url, json={"query": query}, headers=headers)
                    assert response.json()["errors"], query
                    assert f"'{type_name}" not in response.text, (query, response.text)
                    assert "Did you mean" not in response.text, (query, response.text)
                for field, value in (("query", 5), ("variables", "x"), ("operationName", []),
                                     ("extensions", True)):
                    response = await http.post(url, json={"query": "{ __typename }",
                                                          field: value}, headers=headers)
                    assert response.status_code == 400, (field, response.text)
                    assert f"`{field}`" in response.text
                    response = await http.get(url, headers=headers, params={
                        "query": "{ __typename }", field: json.dumps(value)})
                    assert response.status_code == 400 or field == "query", field

            for headers in ({}, {"Authorization": f"Bearer {bearer}"}):
                before = await asyncio.to_thread(_log_size, log)
                for _ in range(ROUNDS):
                    for body in BAD_REQUESTS:
                        response = await http.post(url, json=body, headers=headers)
                        assert response.status_code in (200, 400), response.text
                    # The same flood as a GET: the access line does not carry the URL's query.
                    response = await http.get(url, headers=headers, params={
                        "query": UNKNOWN_120, "variables": json.dumps({"s": SECRET_LITERAL})})
                    assert response.status_code in (200, 400), response.text
                grown = await asyncio.to_thread(_log_size, log) - before
                per_request = grown / (ROUNDS * (len(BAD_REQUESTS) + 1))
                print("log bytes per bad request", sorted(headers), per_request)
                assert per_request <= 1024, (headers.keys(), per_request)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert not [line for line in lines if line.get("level") in ("error", "critical")]
    text = log.read_text()
    assert SECRET_LITERAL not in text and "f118 f119" not in text  # the query text
    assert max(len(line) for line in text.splitlines()) <= 1024
