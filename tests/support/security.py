"""Helpers for the security tests: an app built with settings of the test's own."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx

from app.asgi import create_app
from app.auth import make_token
from core.settings import Settings, get_settings

SECRET = "a-test-secret-that-is-long-enough-32b"


def settings_with(**changes: Any) -> Settings:
    """The session's settings (its database) with some fields changed."""
    return get_settings().model_copy(update=changes)


@contextlib.asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, manage_db=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def token(settings: Settings, **kw: Any) -> str:
    return make_token(settings, f"sec-{uuid.uuid4().hex[:10]}", **kw)


async def gql(http: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None,
              bearer: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables or {}},
                               headers=headers)
    return response.json()  # type: ignore[no-any-return]


# Documents with a misspelt name each: production must not answer with a suggestion.
MISSPELT: list[tuple[str, dict[str, Any]]] = [
    ("{ meetngs { totalCount } }", {}),                                     # field
    ("{ meetings(frist: 5) { totalCount } }", {}),                          # argument
    ("query($s: [MeetingStatu!]) { meetings(status: $s) { totalCount } }", {}),  # type
    ("{ reasons(kind: CANCELATION) { code } }", {}),                        # enum literal
    ("query($k: ReasonKind!) { reasons(kind: $k) { code } }", {"k": "CANCELATION"}),  # variable
    ("mutation { grantCredits(input: {acountId: \"x\", amount: 1, reference: \"r\"}) "
     "{ errors { code } } }", {}),                                          # input field
    ("mutation($i: GrantCreditsInput!) { grantCredits(input: $i) { errors { code } } }",
     {"i": {"acountId": "x", "amount": 1, "reference": "r"}}),              # input variable
    ("{ ...F } fragment F on Quer { __typename }", {}),                     # fragment's type
    ("{ meetings { edges { node { ... on Meetng { id } } } } }", {}),       # inline fragment
    ("{ __typename @inclde(if: true) }", {}),                               # directive
]

TYPE_PROBES = [  # what clairvoyance sends to learn a guessed field's type
    ("{ meetings }", "MeetingConnection"),
    ("{ viewer { nope } }", "Viewer"),
    ("{ meeting { id } }", "ID!"),
    ("{ viewer { account { id { x } } } }", "ID!"),
    ("{ viewer { account(x: 1) { id } } }", "Viewer.account"),
    ("{ reasons(kind: 5) { code } }", "ReasonKind"),
]
