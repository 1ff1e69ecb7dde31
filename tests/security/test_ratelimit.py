"""Per-account mutation budget in Redis (the real server on 127.0.0.1:6379)."""

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
import redis.asyncio as redis

from app import ratelimit
from tests.support.security import app_client, gql, settings_with, token

REDIS = "redis://127.0.0.1:6379/0"
MARK = "mutation { markNotificationsRead(ids: []) { unreadCount errors { code } } }"
TWICE = """mutation { a: markNotificationsRead(ids: []) { unreadCount }
                      b: markNotificationsRead(ids: []) { unreadCount } }"""


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"test-ratelimit-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(REDIS)
    try:
        keys = [k async for k in client.scan_iter(match=f"{name}:*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
    await ratelimit.close_all()


def _limited(body: dict[str, Any]) -> bool:
    return any(e.get("extensions", {}).get("code") == "RATE_LIMITED"
               for e in body.get("errors") or [])


async def test_mutations_over_the_budget_are_refused(orm: str, prefix: str) -> None:
    settings = settings_with(redis_url=REDIS, rate_limit_mutations=3,
                             rate_limit_window_seconds=60, rate_limit_prefix=prefix)
    alice, bob = token(settings), token(settings)
    async with app_client(settings) as http:
        for _ in range(3):
            body = await gql(http, MARK, bearer=alice)
            assert body["data"]["markNotificationsRead"]["errors"] == [], body
        refused = await gql(http, MARK, bearer=alice)
        assert refused["data"] is None and _limited(refused), refused
        message = refused["errors"][0]["message"]
        assert "at most 3 per 60 s" in message and "RATE_LIMIT_MUTATIONS" in message
        # Queries are not limited; another account has its own budget.
        assert (await gql(http, "{ viewer { account { id } } }", bearer=alice))["data"]
        assert not _limited(await gql(http, MARK, bearer=bob))
        # Each mutation field spends one: two aliased mutations need two.
        assert not _limited(await gql(http, TWICE, bearer=bob))
        assert _limited(await gql(http, TWICE, bearer=bob))
    client = redis.Redis.from_url(REDIS)
    try:
        keys = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        assert len(keys) == 2
        assert all(0 < ttl <= 61 for ttl in [await client.ttl(k) for k in keys])
    finally:
        await client.aclose()


async def test_off_without_redis_and_open_when_redis_is_down(orm: str, prefix: str) -> None:
    embedded = settings_with(redis_url=None, rate_limit_mutations=1)
    assert ratelimit.limiter_for(embedded) is None
    async with app_client(embedded) as http:
        bearer = token(embedded)
        for _ in range(3):
            assert not _limited(await gql(http, MARK, bearer=bearer))
    down = settings_with(redis_url="redis://127.0.0.1:9/0", rate_limit_mutations=1,
                         rate_limit_prefix=prefix)
    async with app_client(down) as http:
        bearer = token(down)
        for _ in range(2):
            body = await gql(http, MARK, bearer=bearer)
            assert body["data"]["markNotificationsRead"]["errors"] == [], body


async def test_refusal_is_429_with_retry_after_and_keyed_by_sub(
        orm: str, prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_with(redis_url=REDIS, rate_limit_mutations=1,
                             rate_limit_window_seconds=60, rate_limit_prefix=prefix)
    alice = token(settings)
    async with app_client(settings) as http:
        assert not _limited(await gql(http, MARK, bearer=alice))
        headers = {"Authorization": f"Bearer {alice}"}
        with caplog.at_level(logging.DEBUG):
            strict = await http.post("/graphql", json={"query": MARK}, headers={
                **headers, "Accept": "application/graphql-response+json"})
        # An expected refusal: one INFO line, nothing at WARNING or above.
        refusals = [r for r in caplog.records if r.name.startswith(("meetings", "strawberry"))]
        assert [(r.name, r.levelno) for r in refusals] == [("meetings.requests", logging.INFO)]
        assert refusals[0].__dict__["codes"] == ["RATE_LIMITED"]
        assert strict.status_code == 429, strict.text
        seconds = int(strict.headers["retry-after"])
        assert 1 <= seconds <= 60
        assert "data" not in strict.json()
        assert strict.json()["errors"][0]["extensions"] == {"code": "RATE_LIMITED",
                                                            "retryAfter": seconds}
        legacy = await http.post("/graphql", json={"query": MARK}, headers=headers)
        assert legacy.status_code == 200 and "retry-after" not in legacy.headers
        assert legacy.json()["errors"][0]["extensions"]["retryAfter"] >= 1
    client = redis.Redis.from_url(REDIS)
    try:
        keys = [k.decode() async for k in client.scan_iter(match=f"{prefix}:*")]
    finally:
        await client.aclose()
    sub = jwt.decode(alice, options={"verify_signature": False})["sub"]
    assert len(keys) == 1 and keys[0].startswith(f"{prefix}:sub:{sub}:"), keys


async def test_admins_have_a_budget_of_their_own(orm: str, prefix: str) -> None:
    grant = ("mutation($i: GrantCreditsInput!) { grantCredits(input: $i) { errors { code } } }")
    settings = settings_with(redis_url=REDIS, rate_limit_mutations=1,
                             rate_limit_admin_mutations=5, rate_limit_prefix=prefix)
    admin, user = token(settings, admin=True), token(settings)
    async with app_client(settings) as http:
        user_id = (await gql(http, "{ viewer { account { id } } }", bearer=user)
                   )["data"]["viewer"]["account"]["id"]

        async def top_up() -> dict[str, Any]:
            return await gql(http, grant, {"i": {"accountId": user_id, "amount": 1,
                                                 "reference": uuid.uuid4().hex}}, bearer=admin)

        for _ in range(5):
            body = await top_up()
            assert body["data"]["grantCredits"]["errors"] == [], body
        refused = await top_up()
        assert _limited(refused) and "RATE_LIMIT_ADMIN_MUTATIONS" in refused["errors"][0]["message"]
    unlimited = settings_with(redis_url=REDIS, rate_limit_mutations=1,
                              rate_limit_admin_mutations=0, rate_limit_prefix=prefix)
    admin = token(unlimited, admin=True)
    async with app_client(unlimited) as http:
        for _ in range(8):
            assert not _limited(await gql(http, MARK, bearer=admin))


def test_the_default_prefix_names_the_deployment() -> None:
    one = settings_with(rate_limit_prefix=None, database_url="postgres://db-one/meetings")
    two = settings_with(rate_limit_prefix=None, database_url="postgres://db-two/meetings")
    assert one.rate_limit_key_prefix != two.rate_limit_key_prefix
    assert one.rate_limit_key_prefix == settings_with(
        rate_limit_prefix=None, database_url="postgres://db-one/meetings").rate_limit_key_prefix
    assert settings_with(rate_limit_prefix="mine").rate_limit_key_prefix == "mine"
