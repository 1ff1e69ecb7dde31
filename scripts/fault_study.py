"""The fault study (issue 14) as one script: two API processes, a worker and a lifecycle load
against private PostgreSQL and Redis servers; each fault injected under that load, then the
invariants. Prints one Markdown table.

    .venv/bin/python scripts/fault_study.py [--outage 10] [--markets 6]

Load: per market (an expert, a user) a loop of requestMeeting then confirmMeeting, each with
an Idempotency-Key and retried with the same key (on either API process) until answered;
one WebSocket subscriber per expert on `meetingChanged` (account-wide, on API 1), which
re-subscribes with `after` = its last position whenever its socket closes.

Columns: client errors (answers that were errors or none, each then retried); plain
(answers that were not GraphQL JSON); recovery (seconds from the fault's start to the last
client error); converged (seconds after the load stopped until every invariant held);
invariants (violations of tests/support/faults.INVARIANTS); lost (committed mutations whose
answer never came = ambiguous, plus deliveries missing at a subscriber without a resync);
duplicated (meetings booked twice, conferences or reminders sent twice, events delivered
twice in one subscription); exit (the SIGTERMed process's status and seconds to exit).
"""

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import jwt  # noqa: E402

from tests.support.client import PAYLOAD, Market, market  # noqa: E402
from tests.support.faults import (  # noqa: E402
    GRACE_SECONDS,
    Stack,
    Tally,
    Watcher,
    in_days,
    keyed,
    stack,
    violations,
)

REQUEST = f"""mutation($input: RequestMeetingInput!) {{
  requestMeeting(input: $input) {{ {PAYLOAD} }} }}"""
CONFIRM = f"""mutation($input: MeetingRefInput!) {{
  confirmMeeting(input: $input) {{ {PAYLOAD} }} }}"""
async def _load(apis: list[str], m: Market, tally: Tally, stop: asyncio.Event,
                offset: int) -> int:
    """requestMeeting then confirmMeeting, over and over, each keyed and retried."""
    done = 0
    async with contextlib.AsyncExitStack() as stack_:
        clients = [await stack_.enter_async_context(
            httpx.AsyncClient(base_url=f"http://{a}", timeout=20)) for a in apis]
        slot = offset
        while not stop.is_set():
            http = clients[slot % len(clients)]
            slot += 1
            variables = {"input": {"serviceId": m.service_id, "skillId": m.skill_id,
                                   "startsAt": in_days(2 + slot // 20, slot % 20)}}
            answer = await _keyed_any(clients, m.user.token, REQUEST, variables, tally, http)
            if answer is None or answer["requestMeeting"]["errors"]:
                continue
            meeting_id = answer["requestMeeting"]["meeting"]["id"]
            await _keyed_any(clients, m.expert.token, CONFIRM,
                             {"input": {"meetingId": meeting_id}}, tally, http)
            done += 1
    return done


async def _keyed_any(clients: list[httpx.AsyncClient], token: str, query: str,
                     variables: dict[str, Any], tally: Tally,
                     first: httpx.AsyncClient) -> dict[str, Any] | None:
    # The retries of one key go to both processes in turn (a restarted one comes back).
    return await keyed(first, token, query, variables, tally, give_up_after=120,
                       others=[c for c in clients if c is not first])


async def _count(db: str, sql: str) -> int:
    conn = await asyncpg.connect(db)
    try:
        return int(await conn.fetchval(sql))
    finally:
        await conn.close()


async def study(name: str, inject: Callable[[Stack, list[Any]], Awaitable[dict[str, Any]]],
                markets_n: int) -> dict[str, Any]:
    with stack(CONFERENCE_JOB_DEADLINE_SECONDS="5") as s:
        api1, api2 = s.server("api-1"), s.server("api-2")
        api1.start()
        api2.start()
        worker = s.worker()
        worker.start()
        apis = [api1.base, api2.base]
        async with httpx.AsyncClient(base_url=f"http://{api1.base}", timeout=20) as http:
            markets = [await market(http, credits=1_000_000) for _ in range(markets_n)]
        first_row = await _count(s.db, "SELECT coalesce(max(id), 0) FROM outbox_entry")
        watchers = [Watcher(api1.base, m.expert.token) for m in markets]
        for w in watchers:
            w.task = asyncio.ensure_future(w.run())
        await asyncio.sleep(1.0)
        tally, stop = Tally(), asyncio.Event()
        loads = [asyncio.ensure_future(_load(apis, m, tally, stop, 1000 * i))
                 for i, m in enumerate(markets)]
        await asyncio.sleep(3.0)
        started = time.monotonic()
        extra = await inject(s, [api1, api2, worker])
        await asyncio.sleep(5.0)
        stop.set()
        done = sum(await asyncio.gather(*loads))
        load_stopped = time.monotonic()
        converged: float | None = None
        while time.monotonic() - load_stopped < 90:
            found = await violations(s.db)
            if not any(found.values()):
                converged = time.monotonic() - load_stopped
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)  # the last deliveries
        for w in watchers:
            assert w.task is not None
            w.task.cancel()
        # Deliveries: every MEETING_CHANGED row of an expert's meetings since the start.
        conn = await asyncpg.connect(s.db)
        try:
            rows = await conn.fetch(
                "SELECT id, payload FROM outbox_entry WHERE kind = 'MEETING_CHANGED' "
                "AND id > $1", first_row)
            experts = {m.expert.id: w for m, w in zip(markets, watchers, strict=True)}
            account_ids = {w: await conn.fetchval(
                "SELECT id FROM account WHERE key = $1",
                jwt.decode(w.token, options={"verify_signature": False})["sub"])
                for w in experts.values()}
        finally:
            await conn.close()
        lost_deliveries = 0
        for w, account in account_ids.items():
            expected = {r["id"] for r in rows if account in json.loads(r["payload"])["account_ids"]}
            missing = expected - set(w.positions)
            print(f"   watcher: {len(expected)} expected, {len(w.positions)} received, "
                  f"{len(missing)} missing, {w.resyncs} resyncs, ended {w.ended[:2]}",
                  file=sys.stderr)
            if missing and not w.resyncs:
                lost_deliveries += len(missing)
        found = await violations(s.db)
        doubled = (found["one request per answered key"] + found["conference created at most once"]
                   + found["reminder sent at most once"] + sum(w.duplicates for w in watchers))
        return {
            "fault": name, "mutations": done, "client errors": tally.client_errors,
            "plain": tally.plain_errors,
            "recovery": (tally.last_error_at - started) if tally.last_error_at else 0.0,
            "converged": converged, "invariants": sum(found[k] for k in found
                                                     if k != "one request per answered key"),
            "lost": tally.ambiguous + lost_deliveries, "duplicated": doubled,
            "resyncs": sum(w.resyncs for w in watchers), **extra}


def faults(outage: float) -> dict[str, Callable[[Stack, list[Any]], Awaitable[dict[str, Any]]]]:
    async def pg_restart(s: Stack, p: list[Any]) -> dict[str, Any]:
        await asyncio.to_thread(s.pg.restart)
        return {}

    async def pg_stop(s: Stack, p: list[Any]) -> dict[str, Any]:
        await asyncio.to_thread(s.pg.stop, "immediate")
        await asyncio.sleep(outage)
        await asyncio.to_thread(s.pg.start)
        return {}

    async def api_kill(s: Stack, p: list[Any]) -> dict[str, Any]:
        p[1].signal(signal.SIGKILL)
        await asyncio.to_thread(p[1].wait, 10)
        await asyncio.sleep(2)
        await asyncio.to_thread(p[1].start)
        return {}

    async def redis_kill(s: Stack, p: list[Any]) -> dict[str, Any]:
        s.redis.kill()
        await asyncio.sleep(outage)
        await asyncio.to_thread(s.redis.start)
        return {}

    async def worker_kill(s: Stack, p: list[Any]) -> dict[str, Any]:
        p[2].signal(signal.SIGKILL)
        await asyncio.to_thread(p[2].wait, 10)
        await asyncio.to_thread(s.worker("worker-2").start)
        return {}

    async def sigterm(s: Stack, p: list[Any]) -> dict[str, Any]:
        started = time.monotonic()
        p[1].signal(signal.SIGTERM)
        status = await asyncio.to_thread(p[1].wait, GRACE_SECONDS + 20)
        took = time.monotonic() - started
        await asyncio.to_thread(p[1].start)
        return {"exit": f"{status} in {took:.1f}s"}

    async def locked_row(s: Stack, p: list[Any]) -> dict[str, Any]:
        conn = await asyncpg.connect(s.db)
        await conn.execute("BEGIN")
        await conn.execute("SELECT 1 FROM meeting ORDER BY id DESC LIMIT 1 FOR UPDATE")
        await asyncio.sleep(outage)
        await conn.execute("ROLLBACK")
        await conn.close()
        return {}

    return {"PostgreSQL restart": pg_restart, f"PostgreSQL stopped {outage:.0f} s": pg_stop,
            "API SIGKILL (1 of 2)": api_kill, f"Redis killed {outage:.0f} s": redis_kill,
            "worker SIGKILL": worker_kill, "API SIGTERM (1 of 2)": sigterm,
            f"one row locked {outage:.0f} s": locked_row}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument("--markets", type=int, default=6)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    results = []
    for name, inject in faults(args.outage).items():
        if args.only and args.only.lower() not in name.lower():
            continue
        print(f"… {name}", file=sys.stderr, flush=True)
        results.append(asyncio.run(study(name, inject, args.markets)))
    print("| fault | mutations | client errors (plain) | recovery s | converged s | "
          "invariants | lost | duplicated | resyncs | exit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        converged = "never" if r["converged"] is None else f"{r['converged']:.1f}"
        print(f"| {r['fault']} | {r['mutations']} | {r['client errors']} ({r['plain']}) | "
              f"{r['recovery']:.1f} | {converged} | {r['invariants']} | {r['lost']} | "
              f"{r['duplicated']} | {r['resyncs']} | {r.get('exit', '')} |")


if __name__ == "__main__":
    main()
