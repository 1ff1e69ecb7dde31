"""The hand-written reference endpoints the benchmarks compare the API with. One Starlette app,
served exactly like the real one (uvicorn, one process, pinned to CPU 0):

* `POST /graphql` — bare graphql-core: a hand-written GraphQLSchema with just
  `viewer { account { id } }`, the document parsed and validated once per distinct query text
  (a dict), then graphql-core's `execute` (async) and `json.dumps`-free orjson output. It
  authenticates like the API: `app.auth.authenticate` (Bearer header → HS256 JWT decode →
  the account row by its `sub`, through the ORM, with the same short per-token cache the API
  uses). It does not include Strawberry's schema extensions (query limits, rate limiting,
  error masking), DataLoader set-up, or the API's request context.
* `POST /list` — the meeting list without GraphQL: the same authentication, then asyncpg
  (the ORM's own pool) with hand-written SQL: the count, the page (`first + 1` rows), and the
  page's users/experts, services, skills and timelines in four more statements (6 in all),
  returning the same JSON the API returns for `bench/suite.py`'s LIST_QUERY.

Start with `uvicorn bench.baseline:create_app --factory`.
"""

import base64
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
from graphql import (
    GraphQLField,
    GraphQLID,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    execute,
    parse,
    validate,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from tortoise import connections

from app import auth
from core import db
from core.settings import get_settings


def gid(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode()


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode()


# --- bare graphql-core --------------------------------------------------------------------

ACCOUNT = GraphQLObjectType("Account", {
    "id": GraphQLField(GraphQLNonNull(GraphQLID), resolve=lambda row, _: gid("Account", row.id)),
})
VIEWER = GraphQLObjectType("Viewer", {
    "account": GraphQLField(GraphQLNonNull(ACCOUNT), resolve=lambda row, _: row),
})
SCHEMA = GraphQLSchema(GraphQLObjectType("Query", {
    "viewer": GraphQLField(GraphQLNonNull(VIEWER), resolve=lambda _, info: info.context),
}))
_documents: dict[str, Any] = {}


def _document(text: str) -> Any:
    document = _documents.get(text)
    if document is None:
        document = parse(text)
        errors = validate(SCHEMA, document)
        if errors:
            raise ValueError(errors)
        _documents[text] = document
    return document


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


async def graphql_endpoint(request: Request) -> Response:
    body = orjson.loads(await request.body())
    try:
        account = await auth.authenticate(request.headers.get("authorization"), get_settings())
    except auth.AuthError as exc:
        return _json({"data": None, "errors": [{"message": str(exc)}]})
    result = execute(SCHEMA, _document(body["query"]), context_value=account,
                     variable_values=body.get("variables"))
    if not isinstance(result, dict):  # an awaitable when a resolver is async
        result = await result  # type: ignore[misc]
    out: dict[str, Any] = {"data": result.data}  # type: ignore[attr-defined]
    if result.errors:  # type: ignore[attr-defined]
        out["errors"] = [e.formatted for e in result.errors]  # type: ignore[attr-defined]
    return _json(out)


# --- the meeting list over asyncpg ---------------------------------------------------------

PAGE_SQL = """SELECT id, status, starts_at, ends_at, price_credits, user_id, expert_id,
  service_id, skill_id FROM meeting WHERE expert_id = $1 AND ends_at > $2
  ORDER BY starts_at, id LIMIT $3"""
COUNT_SQL = "SELECT count(*) FROM meeting WHERE expert_id = $1 AND ends_at > $2"
ACCOUNTS_SQL = "SELECT id, display_name FROM account WHERE id = ANY($1::int[])"
SERVICES_SQL = "SELECT id, title FROM expert_service WHERE id = ANY($1::int[])"
SKILLS_SQL = "SELECT id, name FROM skill WHERE id = ANY($1::int[])"
TIMELINE_SQL = """SELECT meeting_id, kind, label, at FROM timeline_event
  WHERE meeting_id = ANY($1::int[]) ORDER BY id"""


async def list_endpoint(request: Request) -> Response:
    body = orjson.loads(await request.body())
    first = int((body.get("variables") or {}).get("first", 20))
    try:
        account = await auth.authenticate(request.headers.get("authorization"), get_settings())
    except auth.AuthError as exc:
        return _json({"data": None, "errors": [{"message": str(exc)}]})
    now = datetime.now(UTC)
    client: Any = connections.get("default")
    async with client.acquire_connection() as conn:
        total = await conn.fetchval(COUNT_SQL, account.id, now)
        rows = await conn.fetch(PAGE_SQL, account.id, now, first + 1)
        page = rows[:first]
        ids = [r["id"] for r in page]
        accounts = {r["id"]: r for r in await conn.fetch(
            ACCOUNTS_SQL, list({r["user_id"] for r in page} | {r["expert_id"] for r in page}))}
        services = {r["id"]: r for r in await conn.fetch(
            SERVICES_SQL, list({r["service_id"] for r in page}))}
        skills = {r["id"]: r for r in await conn.fetch(
            SKILLS_SQL, list({r["skill_id"] for r in page}))}
        timeline: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        for e in await conn.fetch(TIMELINE_SQL, ids):
            timeline[e["meeting_id"]].append(
                {"kind": e["kind"], "label": e["label"], "at": iso(e["at"])})
    edges = []
    for r in page:
        user, expert = accounts[r["user_id"]], accounts[r["expert_id"]]
        service, skill = services[r["service_id"]], skills[r["skill_id"]]
        edges.append({
            "cursor": cursor(r["starts_at"].isoformat(), r["id"]),
            "node": {
                "id": gid("Meeting", r["id"]), "status": r["status"],
                "startsAt": iso(r["starts_at"]), "endsAt": iso(r["ends_at"]),
                "priceCredits": r["price_credits"],
                "user": {"id": gid("Account", user["id"]), "displayName": user["display_name"]},
                "expert": {"id": gid("Account", expert["id"]),
                           "displayName": expert["display_name"]},
                "service": {"id": gid("ExpertService", service["id"]),
                            "title": service["title"]},
                "skill": {"id": gid("Skill", skill["id"]), "name": skill["name"]},
                "timeline": timeline[r["id"]],
            },
        })
    return _json({"data": {"meetings": {
        "totalCount": total,
        "pageInfo": {"hasNextPage": len(rows) > first,
                     "endCursor": edges[-1]["cursor"] if edges else None},
        "edges": edges,
    }}})


def create_app() -> Starlette:
    settings = get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.init_db(settings.database_url)
        try:
            yield
        finally:
            await db.close_db()

    return Starlette(routes=[Route("/graphql", graphql_endpoint, methods=["POST"]),
                             Route("/list", list_endpoint, methods=["POST"]),
                             Route("/healthz", lambda _: Response("ok"))],
                     lifespan=lifespan)
