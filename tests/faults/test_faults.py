"""The fault suite, fast subset (issue 14): private PostgreSQL and Redis servers, the app's
own processes, a fault injected under load, then the invariants. PostgreSQL-backend run only
(the servers are private either way). The whole study: scripts/fault_study.py."""

import asyncio
import contextlib
import random
import signal
import time
from typing import Any

import httpx
import pytest

from tests.support.client import PAYLOAD, Market, market
from tests.support.faults import (
    GRACE_SECONDS,
    PG_BIN,
    Stack,
    Tally,
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


def test_sigterm_under_load_always_exits_in_time() -> None:
    """SIGTERM at a random moment under load — with everything up, with Redis stopped, with
    PostgreSQL stopped: every run exits within the grace plus a few seconds, answering only
    GraphQL JSON meanwhile."""
    rng = random.Random(14)
    with stack() as s:
        for run_no, fault in enumerate(("none", "redis stopped", "postgres stopped")):
            api = s.server(f"api-{run_no}")
            api.start()

            async def run(api: Any = api, fault: str = fault) -> tuple[int | None, float, Tally]:
                tally = Tally()
                async with await _client(s, api.base) as http:
                    m = await market(http, credits=10_000)

                    async def load() -> None:
                        for slot in range(1000):
                            await keyed(http, m.user.token, REQUEST, _request(m, slot), tally,
                                        give_up_after=GRACE_SECONDS + 10)

                    task = asyncio.ensure_future(load())
                    await asyncio.sleep(rng.uniform(0.2, 1.5))
                    if fault == "redis stopped":
                        s.redis.kill()
                    elif fault == "postgres stopped":
                        await asyncio.to_thread(s.pg.stop, "immediate")
                    await asyncio.sleep(rng.uniform(0.0, 0.5))
                    started = time.monotonic()
                    api.signal(signal.SIGTERM)
                    status = await asyncio.to_thread(api.wait, GRACE_SECONDS + 10)
                    took = time.monotonic() - started
                    task.cancel()
                    [ended] = await asyncio.gather(task, return_exceptions=True)
                    assert isinstance(ended, asyncio.CancelledError), ended
                return status, took, tally

            status, took, tally = asyncio.run(run())
            assert status is not None, f"{fault}: still running {GRACE_SECONDS + 10}s after"
            assert status in (0, 3), (fault, status, api.output()[-3000:])
            assert took < GRACE_SECONDS + 10
            assert tally.plain_errors == 0, fault
            if fault == "redis stopped":
                s.redis.start()
            elif fault == "postgres stopped":
                s.pg.start()


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
