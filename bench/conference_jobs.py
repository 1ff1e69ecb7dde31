"""Conference jobs per second with Jitsi: the broker path end to end, beside the in-process
path and the old sweep-paced hand-on, in one run.

    .venv/bin/python bench/conference_jobs.py [--jobs 5000] [--threads 8] [--workers 1]

A fresh PostgreSQL database gets `--jobs` AGREED meetings whose conference is PENDING, each
with its CONFERENCE outbox row (what confirming writes). Reported:

* hand-on: `relay_conference_jobs()` in this process enqueueing every owed row on a private
  redis-server (batches of `workers.conferencing.relay.BATCH`, each row given its deadline);
* broker path: `meetings worker` processes (`--workers`, `--threads` each) consuming them —
  jobs/s from the first closed row to the last (boot excluded), and a check that every
  meeting has exactly one CONFERENCE_CREATED event and every row is closed;
* in-process path: the same work run by `relay_conference_jobs(in_process=True)` (the
  embedded default) on a second set of rows;
* the old pace for reference: before the owed-rows change the sweep handed on at most 100
  rows per WORKER_INTERVAL_SECONDS (5 s), a ceiling of 20 jobs/s whatever the worker did.

A script that prints figures, not a test: it asserts nothing about timings.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import asyncpg
from _data import _dsn, expert_meetings
from _harness import ROOT, fresh_database, machine, redis_server

from core import db


async def _expert(url: str, key: str) -> int:
    conn = await asyncpg.connect(_dsn(url))
    try:
        now = datetime.now(UTC)
        expert = await conn.fetchval(
            "INSERT INTO account (key, display_name, email, timezone, is_admin, "
            "credits_available, credits_blocked, created_at) "
            "VALUES ($1, 'Bench Expert', '', 'UTC', false, 0, 0, $2) RETURNING id", key, now)
        skill = await conn.fetchval("INSERT INTO skill (name) VALUES ($1) RETURNING id", key)
        service = await conn.fetchval(
            "INSERT INTO expert_service (expert_id, title, length_minutes, price_credits, "
            "active, created_at) VALUES ($1, 'Advice', 60, 50, true, $2) RETURNING id",
            expert, now)
        await conn.execute("INSERT INTO expert_service_skill (expert_service_id, skill_id) "
                           "VALUES ($1, $2)", service, skill)
        return int(expert)
    finally:
        await conn.close()


async def load(url: str, n: int, key: str) -> None:
    """n AGREED meetings with a PENDING conference and their owed CONFERENCE rows."""
    expert = await _expert(url, key)
    await expert_meetings(url, expert, n)
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute("UPDATE meeting SET conference_status = 'PENDING' "
                           "WHERE expert_id = $1", expert)
        await conn.execute("""
            INSERT INTO outbox_entry (kind, payload, created_at, attempts)
            SELECT 'CONFERENCE', json_build_object('meeting_id', id, 'op', 'create_or_move'),
                   now(), 0 FROM meeting WHERE expert_id = $1 ORDER BY id""", expert)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


OWED = "SELECT count(*) FROM outbox_entry WHERE kind = 'CONFERENCE' AND delivered_at IS NULL"


async def hand_on(url: str) -> tuple[int, float]:
    from workers.conferencing.relay import relay_conference_jobs

    await db.init_db(url)
    try:
        started, total = time.perf_counter(), 0
        while handed := await relay_conference_jobs():
            total += handed
        return total, time.perf_counter() - started
    finally:
        await db.close_db()


async def in_process(url: str) -> tuple[int, float]:
    from workers.conferencing.relay import relay_conference_jobs

    await db.init_db(url)
    try:
        started, total = time.perf_counter(), 0
        while done := await relay_conference_jobs(in_process=True):
            total += done
        return total, time.perf_counter() - started
    finally:
        await db.close_db()


async def watch(url: str, n: int, timeout: float) -> tuple[float, float]:  # noqa: ASYNC109
    """Seconds from the first closed row to the last, and the boot time before the first."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        started = time.perf_counter()
        first = None
        while time.perf_counter() - started < timeout:
            owed = await conn.fetchval(OWED)
            if first is None and owed < n:
                first = time.perf_counter()
            if owed == 0:
                assert first is not None
                return time.perf_counter() - first, first - started
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{await conn.fetchval(OWED)} jobs still owed after {timeout}s")
    finally:
        await conn.close()


async def check(url: str, n: int) -> str:
    conn = await asyncpg.connect(_dsn(url))
    try:
        created = await conn.fetchval(
            "SELECT count(*) FROM meeting WHERE conference_status = 'CREATED'")
        events = await conn.fetch(
            "SELECT meeting_id, count(*) c FROM timeline_event "
            "WHERE kind = 'CONFERENCE_CREATED' GROUP BY 1")
        doubled = sum(1 for e in events if e["c"] > 1)
        owed = await conn.fetchval(OWED)
        return (f"{created}/{n} created, {len(events)} with a CONFERENCE_CREATED event, "
                f"{doubled} doubled, {owed} owed")
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    from core.settings import get_settings

    print(machine())
    with fresh_database(pool=30) as url, redis_server() as redis_url:
        os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url, CONFERENCE_PROVIDER="jitsi",
                          DRAMATIQ_NAMESPACE="bench")
        get_settings.cache_clear()
        asyncio.run(load(url, args.jobs, "bench-broker"))
        handed, hand_seconds = asyncio.run(hand_on(url))
        env = {**os.environ, "WORKER_INTERVAL_SECONDS": "1", "LOG_LEVEL": "WARNING"}
        workers = [subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--threads", str(args.threads)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for _ in range(args.workers)]
        try:
            broker_seconds, boot = asyncio.run(watch(url, args.jobs, timeout=600))
        finally:
            for w in workers:
                w.terminate()
            for w in workers:
                w.wait(timeout=60)
        broker_check = asyncio.run(check(url, args.jobs))

        os.environ.pop("REDIS_URL")
        get_settings.cache_clear()
        asyncio.run(load(url, args.jobs, "bench-inprocess"))
        done, local_seconds = asyncio.run(in_process(url))
        total_check = asyncio.run(check(url, 2 * args.jobs))

    print(f"\n{args.jobs} conference jobs (Jitsi), PostgreSQL + private Redis\n")
    print("| path | jobs | seconds | jobs/s |")
    print("|---|---:|---:|---:|")
    print(f"| hand-on (enqueue + deadline) | {handed} | {hand_seconds:.2f} | "
          f"{handed / hand_seconds:,.0f} |")
    print(f"| broker: {args.workers} worker(s) × {args.threads} threads | {args.jobs} | "
          f"{broker_seconds:.2f} | **{args.jobs / broker_seconds:,.0f}** |")
    print(f"| in-process (embedded) | {done} | {local_seconds:.2f} | "
          f"{done / local_seconds:,.0f} |")
    print("| before: sweep-paced hand-on (100 rows / 5 s) | – | – | ≤ 20 |")
    print(f"\nworker boot before the first job: {boot:.2f} s")
    print(f"broker run: {broker_check}")
    print(f"both runs: {total_check}")


if __name__ == "__main__":
    main()
