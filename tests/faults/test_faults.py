"""The fault suite, fast subset (issue 14): private PostgreSQL and Redis servers, the app's
own processes, a fault injected under load, then the invariants. PostgreSQL-backend run only
(the servers are private either way). The whole study: scripts/fault_study.py."""

import asyncio
import contextlib
import itertools
import os
import random
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import httpx
import pytest

from app.shutdown import WATCHDOG_MARGIN_SECONDS
from schema.scalars import from_global_id
from tests.support.client import PAYLOAD, Market, market
from tests.support.faults import (
    GRACE_SECONDS,
    PG_BIN,
    Stack,
    Tally,
    Watcher,
    in_days,
    keyed,
    stack,
    until,
    violations,
)

pytestmark = [pytest.mark.pg,
              pytest.mark.skipif(PG_BIN is None, reason="needs PostgreSQL binaries")]

REQUEST = f"""mutation($input: RequestMeetingInput!) {{
  requestMeeting(input: $input) {{ {PAYLOAD} }} }}"""
CONFIRM = f"""mutation($input: MeetingRefInput!) {{
  confirmMeeting(input: $input) {{ {PAYLOAD} }} }}"""
CONFERENCES = ["agreed meetings with a conference", "conference created at most once",
               "outbox drained"]


def _request(m: Market, slot: int) -> dict[str, Any]:
    return {"input": {"serviceId": m.service_id, "skillId": m.skill_id,
                      "startsAt": in_days(2 + slot // 20, slot % 20)}}


async def _agree(http: httpx.AsyncClient, m: Market, slots: range, tally: Tally) -> list[str]:
    ids = []
    for slot in slots:
        answer = await keyed(http, m.user.token, REQUEST, _request(m, slot), tally)
        assert answer is not None
        meeting = answer["requestMeeting"]["meeting"]
        confirmed = await keyed(http, m.expert.token, CONFIRM,
                                {"input": {"meetingId": meeting["id"]}}, tally)
        assert confirmed is not None
        assert confirmed["confirmMeeting"]["errors"] == [], confirmed
        ids.append(meeting["id"])
    return ids


async def _client(s: Stack, api_base: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://{api_base}", timeout=30)


def test_redis_loss_with_queued_conference_jobs() -> None:
    """Jobs handed to Redis, Redis killed (no persistence) before a worker took them: the
    reconciler hands them on again, every conference is created exactly once."""
    with stack() as s:
        api = s.server()
        api.start()

        async def run() -> None:
            async with await _client(s, api.base) as http:
                m = await market(http, credits=5000)
                tally = Tally()
                await _agree(http, m, range(8), tally)
            assert (await violations(s.db))["agreed meetings with a conference"] == 8
            s.redis.kill()  # the queued jobs are gone with it
            s.redis.start()
            s.worker().start()
            recovery = await until(s.db, CONFERENCES, timeout=60)
            assert recovery < 60
            assert tally.plain_errors == 0

        asyncio.run(run())


def test_postgres_restart_with_retried_mutations() -> None:
    """PostgreSQL restarts under keyed mutations: each is retried with its key until
    answered; every answered request exists once, nothing is doubled, nothing ambiguous."""
    with stack() as s:
        api = s.server()
        api.start()

        async def run() -> None:
            async with await _client(s, api.base) as http:
                m = await market(http, credits=10_000)
                tally = Tally()

                async def load(worker: int) -> int:
                    done = 0
                    for i in range(12):
                        answer = await keyed(http, m.user.token, REQUEST,
                                             _request(m, worker * 12 + i), tally)
                        done += answer is not None and not answer["requestMeeting"]["errors"]
                    return done

                tasks = [asyncio.ensure_future(load(w)) for w in range(4)]
                await asyncio.sleep(0.8)
                await asyncio.to_thread(s.pg.restart)
                answered = sum(await asyncio.gather(*tasks))
            assert tally.ambiguous == 0 and tally.plain_errors == 0
            assert answered == 48
            found = await violations(s.db)
            assert found["one request per answered key"] == 0, found
            assert found["credits blocked = sum of blocked meetings"] == 0, found
            import asyncpg

            conn = await asyncpg.connect(s.db)
            try:
                meetings = await conn.fetchval("SELECT count(*) FROM meeting")
            finally:
                await conn.close()
            assert meetings == 48  # applied iff answered: none lost, none doubled
            await until(s.db, ["outbox drained"], timeout=30)

        asyncio.run(run())


def test_worker_sigkill() -> None:
    """A worker killed in the middle of its jobs: another one finishes them, once each."""
    with stack() as s:
        api = s.server()
        api.start()
        worker = s.worker()

        async def run() -> None:
            async with await _client(s, api.base) as http:
                m = await market(http, credits=5000)
                worker.start()
                tally = Tally()
                await _agree(http, m, range(10), tally)
            worker.signal(signal.SIGKILL)
            assert worker.wait(10) == -signal.SIGKILL
            s.worker("worker-2").start()
            await until(s.db, CONFERENCES, timeout=60)

        asyncio.run(run())


SIGTERM_RUNS = ("none", "redis stopped", "postgres stopped") * 3


async def _outcomes(http: httpx.AsyncClient, m: Market, slots: Iterator[int],
                    seen: dict[str, str], tally: Tally) -> None:
    """One attempt per mutation (a fresh key, a fresh slot each), recording what the client
    was told per startsAt: "ok" (applied), "failed" (an answer that says it was not), or
    nothing (no answer: either way is right)."""
    for slot in slots:
        variables = _request(m, slot)
        starts_at = variables["input"]["startsAt"]
        try:
            response = await http.post(
                "/graphql", json={"query": REQUEST, "variables": variables},
                headers={"Authorization": f"Bearer {m.user.token}",
                         "Idempotency-Key": uuid.uuid4().hex,
                         "Accept": "application/graphql-response+json"}, timeout=30)
        except httpx.HTTPError:
            await asyncio.sleep(0.05)  # refused while stopping: no answer
            continue
        try:
            body = response.json()
        except ValueError:
            tally.plain_errors += 1
            continue
        payload = (body.get("data") or {}).get("requestMeeting")
        seen[starts_at] = "ok" if payload and not payload["errors"] else \
            f"failed: {response.status_code} {response.text[:300]}"
        if seen[starts_at] != "ok":
            await asyncio.sleep(0.05)


def test_sigterm_under_load_always_exits_in_time() -> None:
    """SIGTERM at a random moment under mutation and subscription load, nine times — with
    everything up, with Redis stopped, with PostgreSQL stopped: every run exits within the
    grace plus a few seconds with 0 or 3, clients only ever got GraphQL JSON, every mutation
    answered as done was applied and none answered as failed was."""
    seed = int(os.environ.get("FAULTS_SEED") or time.time_ns() % 1_000_000)
    print(f"SIGTERM runs: FAULTS_SEED={seed}")
    rng = random.Random(seed)
    runs = list(SIGTERM_RUNS)
    rng.shuffle(runs)
    limit = GRACE_SECONDS + WATCHDOG_MARGIN_SECONDS
    with stack() as s:
        for run_no, fault in enumerate(runs):
            where = f"seed {seed}, run {run_no} ({fault})"
            api = s.server(f"api-{run_no}")
            api.start()
            seen: dict[str, str] = {}

            async def run(api: Any = api, fault: str = fault,
                          seen: dict[str, str] = seen) -> tuple[int | None, float, Tally, Market]:
                tally = Tally()
                async with await _client(s, api.base) as http:
                    m = await market(http, credits=100_000)
                    watchers = [Watcher(api.base, m.expert.token) for _ in range(3)]
                    for w in watchers:
                        w.task = asyncio.ensure_future(w.run())
                    slots = itertools.count()
                    load = [asyncio.ensure_future(_outcomes(http, m, slots, seen, tally))
                            for _ in range(4)]
                    await asyncio.sleep(rng.uniform(0.3, 1.5))
                    if fault == "redis stopped":
                        s.redis.kill()
                    elif fault == "postgres stopped":
                        await asyncio.to_thread(s.pg.stop, "immediate")
                    await asyncio.sleep(rng.uniform(0.0, 0.8))
                    started = time.monotonic()
                    api.signal(signal.SIGTERM)
                    status = await asyncio.to_thread(api.wait, limit + 2)
                    took = time.monotonic() - started
                    tasks = [*load, *(w.task for w in watchers if w.task)]
                    for task in tasks:
                        task.cancel()
                    ended = await asyncio.gather(*tasks, return_exceptions=True)
                    assert all(isinstance(e, asyncio.CancelledError) for e in ended), ended
                    assert any(w.positions for w in watchers) or fault != "none", fault
                return status, took, tally, m

            status, took, tally, m = asyncio.run(run())
            print(f"{where}: exit {status} in {took:.1f}s, {len(seen)} answered "
                  f"({sum(v == 'ok' for v in seen.values())} applied)")
            assert status is not None, f"{where}: still running {limit + 2}s after SIGTERM"
            assert status in (0, 3), (where, status, api.output()[-3000:])
            assert took < limit, where
            assert tally.plain_errors == 0, where
            if fault == "redis stopped":
                s.redis.start()
            elif fault == "postgres stopped":
                s.pg.start()
            applied = asyncio.run(_applied(s.db, m))
            told_ok = {k for k, v in seen.items() if v == "ok"}
            told_failed = {k for k, v in seen.items() if v != "ok"}
            assert told_ok, where  # the load ran before the signal
            assert told_ok <= applied, (where, told_ok - applied)
            assert not told_failed & applied, (where, [seen[k] for k in told_failed & applied])


async def _applied(db: str, m: Market) -> set[str]:
    """The startsAt of every meeting the market's user has, as the load wrote them."""
    import asyncpg

    user = from_global_id(m.user.id, "Account")
    conn = await asyncpg.connect(db)
    try:
        rows = await conn.fetch("SELECT starts_at FROM meeting WHERE user_id = $1", user)
    finally:
        await conn.close()
    return {r["starts_at"].astimezone(UTC).isoformat() for r in rows}


def test_one_error_shape_during_a_database_outage() -> None:
    """A token the server has not seen lately needs the database to authenticate: during an
    outage that answers GraphQL JSON with SERVICE_UNAVAILABLE (503 + Retry-After), and a
    WebSocket's connection_init is closed with 1013 — never a plain 500 or a dropped socket."""
    import json

    import websockets

    from app.auth import make_token
    from core.settings import get_settings

    with stack() as s:
        api = s.server()
        api.start()
        token = make_token(get_settings(), f"cold-{time.time_ns()}", name="Cold Cache")
        s.pg.stop("immediate")
        try:
            response = httpx.post(
                f"http://{api.base}/graphql", json={"query": "{ viewer { account { id } } }"},
                headers={"Authorization": f"Bearer {token}",
                         "Accept": "application/graphql-response+json"}, timeout=30)
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "1"
            body = response.json()
            assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"

            async def ws_close_code() -> int | None:
                async with websockets.connect(f"ws://{api.base}/graphql",
                                              subprotocols=["graphql-transport-ws"]) as ws:
                    await ws.send(json.dumps({"type": "connection_init",
                                              "payload": {"authorization": f"Bearer {token}"}}))
                    with contextlib.suppress(websockets.ConnectionClosed):
                        await asyncio.wait_for(ws.recv(), 30)
                    await asyncio.wait_for(ws.wait_closed(), 10)
                    return ws.close_code

            assert asyncio.run(ws_close_code()) == 1013
        finally:
            s.pg.start()
        answer = httpx.post(f"http://{api.base}/graphql",
                            json={"query": "{ viewer { account { displayName } } }"},
                            headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
        assert answer["data"]["viewer"]["account"]["displayName"] == "Cold Cache"
