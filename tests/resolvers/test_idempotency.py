"""Idempotent mutations: the `Idempotency-Key` header, stored per account with the answer in
the mutation's own transaction; and every mutation applied exactly when its answer says so."""

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import strawberry
from starlette.datastructures import Headers

from app.idempotency import MutationTransaction
from core.clock import FrozenClock
from core.settings import Settings, get_settings
from models.accounts import Account
from models.idempotency import IdempotencyKey
from models.meetings import Meeting
from schema.scalars import from_global_id
from tests.support.client import PAYLOAD, Market, Party, at, market
from tests.support.clock import T0

REQUEST = f"""mutation($input: RequestMeetingInput!) {{
  requestMeeting(input: $input) {{ {PAYLOAD} }} }}"""


async def _post(who: Party, query: str, variables: dict[str, Any],
                key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {who.token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return await who.http.post("/graphql", json={"query": query, "variables": variables},
                               headers=headers)


def _input(m: Market, days: int) -> dict[str, Any]:
    return {"input": {"serviceId": m.service_id, "skillId": m.skill_id,
                      "startsAt": at(T0, days=days).isoformat()}}


async def _meetings_of(m: Market) -> int:
    user = from_global_id(m.user.id, "Account")
    return await Meeting.filter(user_id=user).count()


async def test_a_retry_returns_the_answer_and_changes_nothing(
        client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    key = uuid.uuid4().hex
    first = await _post(m.user, REQUEST, _input(m, 2), key)
    body = first.json()
    assert body["data"]["requestMeeting"]["errors"] == []
    credits = await m.user.credits()
    frozen.advance(timedelta(hours=23))  # within the day
    again = await _post(m.user, REQUEST, _input(m, 2), key)
    assert again.json() == body
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert await _meetings_of(m) == 1
    assert await m.user.credits() == credits  # blocked once


async def test_the_key_is_per_account_and_per_request(client: httpx.AsyncClient,
                                                     frozen: FrozenClock) -> None:
    m = await market(client)
    key = uuid.uuid4().hex
    assert (await _post(m.user, REQUEST, _input(m, 2), key)).json()["data"]
    # The same key with another request: refused, nothing changes.
    reused = (await _post(m.user, REQUEST, _input(m, 3), key)).json()
    assert reused["data"] is None
    assert reused["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await _meetings_of(m) == 1
    # Another account's key space is its own.
    other = await market(client)
    answer = (await _post(other.user, REQUEST, _input(other, 2), key)).json()
    assert answer["data"]["requestMeeting"]["errors"] == []
    assert await _meetings_of(other) == 1


async def test_after_a_day_the_key_is_free_again(client: httpx.AsyncClient,
                                                 frozen: FrozenClock) -> None:
    m = await market(client)
    key = uuid.uuid4().hex
    first = (await _post(m.user, REQUEST, _input(m, 2), key)).json()
    frozen.advance(timedelta(hours=get_settings().idempotency_hours, seconds=1))
    second = (await _post(m.user, REQUEST, _input(m, 2), key)).json()
    # Executed anew: the slot is taken now by its own first request.
    assert second["data"]["requestMeeting"]["meeting"]["id"] != (
        first["data"]["requestMeeting"]["meeting"]["id"])
    assert await _meetings_of(m) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there"])
async def test_a_malformed_key_is_refused(client: httpx.AsyncClient, frozen: FrozenClock,
                                          key: str) -> None:
    m = await market(client)
    headers: dict[str, str | bytes] = {"Authorization": f"Bearer {m.user.token}",
               "Idempotency-Key": key.encode("utf-8")}
    body = (await client.post("/graphql", json={"query": REQUEST, "variables": _input(m, 2)},
                              headers=headers)).json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert await _meetings_of(m) == 0


async def test_a_query_ignores_the_key(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    key = uuid.uuid4().hex
    for _ in range(2):
        body = (await _post(m.user, "{ viewer { account { id } } }", {}, key)).json()
        assert body["data"]["viewer"]["account"]["id"] == m.user.id
    assert not await IdempotencyKey.filter(key=key).exists()


@pytest.mark.pg
async def test_concurrent_retries_apply_once(client: httpx.AsyncClient,
                                             frozen: FrozenClock) -> None:
    m = await market(client)
    key = uuid.uuid4().hex
    answers = await asyncio.gather(*(_post(m.user, REQUEST, _input(m, 2), key)
                                     for _ in range(6)))
    bodies = [a.json() for a in answers]
    assert all(b == bodies[0] for b in bodies), bodies
    assert bodies[0]["data"]["requestMeeting"]["errors"] == []
    assert await _meetings_of(m) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 5


# --- one transaction per mutation operation ------------------------------------------------

@dataclass
class _Context:
    settings: Settings
    account: Account | None
    request: Any = None
    response: Any = None
    created: list[int] = field(default_factory=list)


@strawberry.type
class _Query:
    ok: bool = True


@strawberry.type
class _Mutation:
    @strawberry.mutation
    async def rename(self, info: strawberry.Info, name: str) -> str:
        account: Account = info.context.account
        await Account.filter(id=account.id).update(display_name=name)
        return name

    @strawberry.mutation
    async def boom(self) -> str:
        raise RuntimeError("a bug after the first field was applied")


_schema = strawberry.Schema(query=_Query, mutation=_Mutation, extensions=[MutationTransaction])


async def test_an_error_in_any_field_applies_nothing(client: httpx.AsyncClient,
                                                     frozen: FrozenClock) -> None:
    m = await market(client)
    account = await Account.get(id=from_global_id(m.user.id, "Account"))
    context = _Context(get_settings(), account, request=type("R", (), {"headers": Headers()}))
    ok = await _schema.execute('mutation { rename(name: "Applied") }', context_value=context)
    assert ok.errors is None and ok.data == {"rename": "Applied"}
    assert (await Account.get(id=account.id)).display_name == "Applied"

    failed = await _schema.execute('mutation { rename(name: "Lost") boom }',
                                   context_value=context)
    # Before: data {"rename": "Lost"} with an error, and the rename committed.
    assert failed.data is None
    assert failed.errors and "bug" in failed.errors[0].message
    assert (await Account.get(id=account.id)).display_name == "Applied"


async def test_the_sweep_forgets_expired_keys(client: httpx.AsyncClient,
                                              frozen: FrozenClock) -> None:
    from workers.sweeps import sweep_once

    m = await market(client)
    old, fresh = uuid.uuid4().hex, uuid.uuid4().hex
    await _post(m.user, REQUEST, _input(m, 2), old)
    frozen.advance(timedelta(hours=get_settings().idempotency_hours - 1))
    await _post(m.user, REQUEST, _input(m, 3), fresh)
    frozen.advance(timedelta(hours=2))
    assert (await sweep_once(in_process=True))["expired_idempotency_keys"] >= 1
    assert not await IdempotencyKey.filter(key=old).exists()
    assert await IdempotencyKey.filter(key=fresh).exists()
