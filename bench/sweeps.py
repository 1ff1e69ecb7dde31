"""Background sweeps on a large table: what one sweep's selection costs, and how fast two
workers send due reminders.

    .venv/bin/python bench/sweeps.py [--meetings 100000] [--awaiting 10000] [--workers 1,2]

A fresh PostgreSQL database (migrated, dropped at the end) is bulk-loaded with COPY and
set-based INSERT … SELECT: 500 experts (one service each, one skill), 5,000 users,
`--meetings` AGREED meetings one every 8.64 s over 10 days (2 timeline events each) with
their two Reminder rows (REMINDER 24 h and LINK 60 min before the start, as
`resolvers.effects` plans them), and `--awaiting` AWAITING_APPROVAL meetings over the same
10 days (for S2). `core.clock` is a FrozenClock set to the instant at which exactly N rows
are due (N = 10, then 10,000). Reported:

* the selection query of each sweep — the exact SQL and parameters the ORM issues,
  captured from Tortoise's `tortoise.db_client` log during a call at an instant where
  nothing is due, then re-run as `EXPLAIN (ANALYZE, BUFFERS)` over asyncpg with the
  instant moved: execution and planning time (median of 5), shared buffers, the scans of
  the plan (index or sequential) and the rows they threw away. Each query is planned both
  as a custom plan (for these parameter values: what a pooled connection's first five
  executions of a prepared statement get) and as a generic plan (what PostgreSQL may switch
  to from the sixth execution on, `plan_cache_mode = auto`). S1 is also explained with
  an index on meeting (status, ends_at) created in the throwaway database only (a what-if:
  no migration has it), dropped before the rest;
* the wall time of one whole `send_due_reminders()` call (median of 3; the sent rows are
  reset between calls). One call sends every due reminder, claiming
  `workers.reminders.CLAIM` at a time;
* 1 and 2 worker processes (`--worker` mode of this file, not pinned to a CPU), each
  calling `send_due_reminders()` until nothing is due, over 10,000 due reminders:
  reminders/s in total and per process, and a check that each was sent exactly once
  (sent_at set on exactly the due rows, one REMINDER_SENT/LINK_SENT timeline event and one
  notification each, no duplicates).

This process pins itself to CPU 1 (`_harness.pin_self`). A script that prints figures,
not a test: it asserts nothing about timings.
"""

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from _harness import PG_ADMIN, ROOT, fresh_database, machine, pin_self

from core import clock
from core.clock import FrozenClock

SPACING = timedelta(seconds=8.64)  # 10,000 meetings a day: 100,000 over 10 days
EXPERTS, USERS = 500, 5000  # an expert's meetings are 72 min apart (60 min long)
REPEAT_EXPLAIN, REPEAT_CALL = 5, 3
SENT_KINDS = ("REMINDER_SENT", "LINK_SENT")
WHAT_IF = "bench_what_if_meeting_status_end"  # created and dropped in the bench database


def dsn(url: str) -> str:
    return url.split("?", 1)[0].replace("postgres://", "postgresql://", 1)


def with_pool(url: str, size: int) -> str:
    return f"{url.split('?', 1)[0]}?maxsize={size}"


# --- data ------------------------------------------------------------------------------------

async def load(url: str, meetings: int, awaiting: int, t0: datetime) -> dict[str, float]:
    from core.settings import get_settings

    settings = get_settings()
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn(url))
    try:
        now = datetime.now(UTC)
        records = [(f"sweep-expert-{i}", f"Expert {i}", "", "UTC", False, 0, 0, now)
                   for i in range(EXPERTS)]
        blocked = [0] * USERS
        for i in range(meetings):
            blocked[i % USERS] += 50
        for j in range(awaiting):
            blocked[j % USERS] += 50
        records += [(f"sweep-user-{i}", f"User {i}", "", "UTC", False, 1000, blocked[i], now)
                    for i in range(USERS)]
        await conn.copy_records_to_table(
            "account", columns=["key", "display_name", "email", "timezone", "is_admin",
                                "credits_available", "credits_blocked", "created_at"],
            records=records)
        experts = [r["id"] for r in await conn.fetch(
            "SELECT id FROM account WHERE key LIKE 'sweep-expert-%' ORDER BY id")]
        users = [r["id"] for r in await conn.fetch(
            "SELECT id FROM account WHERE key LIKE 'sweep-user-%' ORDER BY id")]
        skill = await conn.fetchval("INSERT INTO skill (name) VALUES ('Advice') RETURNING id")
        await conn.copy_records_to_table(
            "expert_service", columns=["expert_id", "title", "length_minutes", "price_credits",
                                       "active", "created_at"],
            records=[(e, "Advice", 60, 50, True, now) for e in experts])
        services = dict(await conn.fetch("SELECT expert_id, id FROM expert_service"))
        await conn.execute("INSERT INTO expert_service_skill (expert_service_id, skill_id) "
                           "SELECT id, $1 FROM expert_service", skill)

        def row(k: int, starts: datetime, status: str) -> tuple[Any, ...]:
            expert = experts[k % EXPERTS]
            agreed = status == "AGREED"
            return (users[k % USERS], expert, services[expert], skill, starts,
                    starts + timedelta(minutes=60), 60, 50, status, True, agreed, "USER",
                    "BLOCKED", 2 if agreed else 1, now, now)

        rows = [row(i, t0 + i * SPACING, "AGREED") for i in range(meetings)]
        # Awaiting meetings start between the agreed ones, every 10th slot.
        rows += [row(j, t0 + (10 * j) * SPACING + SPACING / 2, "AWAITING_APPROVAL")
                 for j in range(awaiting)]
        await conn.copy_records_to_table(
            "meeting", columns=["user_id", "expert_id", "service_id", "skill_id", "starts_at",
                                "ends_at", "length_minutes", "price_credits", "status",
                                "approved_by_user", "approved_by_expert", "created_by",
                                "credit_status", "version", "created_at", "updated_at"],
            records=rows)
        await conn.execute("""
            INSERT INTO reminder (meeting_id, kind, starts_at, due_at)
            SELECT id, 'REMINDER', starts_at, starts_at - make_interval(mins => $1)
              FROM meeting WHERE status = 'AGREED'
            UNION ALL
            SELECT id, 'LINK', starts_at, starts_at - make_interval(mins => $2)
              FROM meeting WHERE status = 'AGREED'
            ORDER BY 1, 2""", settings.reminder_before_minutes, settings.link_before_minutes)
        await conn.execute("""
            INSERT INTO timeline_event (meeting_id, kind, label, at, actor, starts_at)
            SELECT id, 'REQUESTED_BY_USER', 'Request', created_at, 'USER', starts_at
              FROM meeting
            UNION ALL
            SELECT id, 'APPROVED_BY_EXPERT', 'Expert Approval', created_at, 'EXPERT', starts_at
              FROM meeting WHERE status = 'AGREED'
            ORDER BY 1""")
        await conn.execute("VACUUM ANALYZE")
        sizes = {
            "load_seconds": time.perf_counter() - started,
            "meeting_rows": await conn.fetchval("SELECT count(*) FROM meeting"),
            "reminder_rows": await conn.fetchval("SELECT count(*) FROM reminder"),
            "meeting_pages": await conn.fetchval(
                "SELECT relpages FROM pg_class WHERE relname = 'meeting'"),
            "reminder_pages": await conn.fetchval(
                "SELECT relpages FROM pg_class WHERE relname = 'reminder'"),
        }
    finally:
        await conn.close()
    return sizes


# The instant at which exactly n rows are due, per sweep, and the rows due then (the
# sweep's own condition, in SQL, as a cross-check).
INSTANT = {
    "reminders": "SELECT due_at FROM reminder WHERE sent_at IS NULL ORDER BY due_at "
                 "OFFSET $1 LIMIT 1",
    "S1 complete_ended": "SELECT ends_at FROM meeting WHERE status = 'AGREED' "
                         "ORDER BY ends_at OFFSET $1 LIMIT 1",
    "S2 expire_started": "SELECT starts_at FROM meeting WHERE status = 'AWAITING_APPROVAL' "
                         "ORDER BY starts_at OFFSET $1 LIMIT 1",
}
DUE = {
    "reminders": "SELECT count(*) FROM reminder r JOIN meeting m ON m.id = r.meeting_id "
                 "WHERE r.sent_at IS NULL AND r.due_at <= $1 AND m.status = 'AGREED' "
                 "AND m.starts_at > $1",
    "S1 complete_ended": "SELECT count(*) FROM meeting WHERE status = 'AGREED' "
                         "AND ends_at <= $1",
    "S2 expire_started": "SELECT count(*) FROM meeting WHERE status = 'AWAITING_APPROVAL' "
                         "AND starts_at <= $1",
}


async def instant(conn: asyncpg.Connection, sweep: str, n: int) -> datetime | None:
    at: datetime | None = await conn.fetchval(INSTANT[sweep], n - 1)
    if at is None:
        return None  # fewer than n rows to be due at all
    due = await conn.fetchval(DUE[sweep], at)
    if due != n:
        raise RuntimeError(f"{sweep}: {due} rows due at {at}, wanted {n}")
    return at


async def reset(conn: asyncpg.Connection) -> None:
    """Undo what sending reminders wrote (the load itself writes none of these rows)."""
    await conn.execute("UPDATE reminder SET sent_at = NULL WHERE sent_at IS NOT NULL")
    await conn.execute("DELETE FROM timeline_event WHERE kind = ANY($1::text[])",
                       list(SENT_KINDS))
    await conn.execute("DELETE FROM outbox_entry")
    await conn.execute("DELETE FROM notification")
    await conn.execute("UPDATE meeting SET version = 2 WHERE version > 2 AND status = 'AGREED'")
    await conn.execute("VACUUM ANALYZE reminder, timeline_event, outbox_entry, notification, "
                       "meeting")


# --- the ORM's own queries ----------------------------------------------------------------

class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.queries: list[tuple[str, list[Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str):
            self.queries.append((args[0], list(args[1] or [])))


async def captured_select(call: Callable[[], Awaitable[int]], at: datetime,
                          table: str) -> tuple[str, list[Any]]:
    """The first SELECT on `table` that `call` issues with the clock at `at` (nothing due)."""
    logger = logging.getLogger("tortoise.db_client")
    handler = Capture()
    logger.addHandler(handler)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    clock.use(FrozenClock(at))
    try:
        done = await call()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    if done:
        raise RuntimeError("the capture instant should have nothing due")
    for sql, values in handler.queries:
        if sql.lstrip().upper().startswith("SELECT") and f'FROM "{table}"' in sql:
            return sql, values
    raise RuntimeError(f"no SELECT on {table} captured: {handler.queries}")


def moved(values: list[Any], old: datetime, new: datetime) -> list[Any]:
    if not any(v == old for v in values):
        raise RuntimeError(f"the instant is not among the parameters {values}")
    return [new if v == old else v for v in values]


@dataclass
class Explained:
    sweep: str
    due: int
    returned: int
    execution_ms: float
    planning_ms: float
    hit: int
    read: int
    scans: list[str] = field(default_factory=list)
    removed: int = 0
    seq_scan_meeting: bool = False
    mode: str = "custom"


def _walk(node: dict[str, Any], out: Explained) -> None:
    kind = node["Node Type"]
    if "Scan" in kind and ("Relation Name" in node or "Index Name" in node):
        name = kind + (f" on {node['Relation Name']}" if "Relation Name" in node else "")
        if "Index Name" in node:
            name += f" using {node['Index Name']}"
        out.scans.append(name)
        if kind == "Seq Scan" and node["Relation Name"] == "meeting":
            out.seq_scan_meeting = True
    out.removed += int(node.get("Rows Removed by Filter", 0))
    for child in node.get("Plans", []):
        _walk(child, out)


async def explain(conn: asyncpg.Connection, sweep: str, due: int, sql: str,
                  values: list[Any], mode: str) -> Explained:
    # `conn` has no statement cache: each EXPLAIN is planned afresh, in the given mode.
    await conn.execute(f"SET plan_cache_mode = force_{mode}_plan")
    runs = []
    for _ in range(REPEAT_EXPLAIN):
        raw = await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *values)
        runs.append((json.loads(raw) if isinstance(raw, str) else raw)[0])
    last = runs[-1]
    top = last["Plan"]
    out = Explained(sweep, due, int(top["Actual Rows"]),
                    statistics.median(r["Execution Time"] for r in runs),
                    statistics.median(r["Planning Time"] for r in runs),
                    int(top.get("Shared Hit Blocks", 0)), int(top.get("Shared Read Blocks", 0)))
    out.mode = mode
    _walk(top, out)
    return out


# --- one process's calls -------------------------------------------------------------------

@dataclass
class Call:
    due: int
    sent: list[int]
    wall_ms: list[float]


async def timed_calls(url: str, at: datetime, due: int) -> Call:
    from workers.reminders import send_due_reminders

    conn = await asyncpg.connect(dsn(url))
    result = Call(due, [], [])
    try:
        clock.use(FrozenClock(at))
        for _ in range(REPEAT_CALL):
            started = time.perf_counter()
            result.sent.append(await send_due_reminders())
            result.wall_ms.append((time.perf_counter() - started) * 1000)
            await reset(conn)
    finally:
        await conn.close()
    return result


async def single_process(url: str, at: dict[int, datetime], empty: datetime,
                         dues: list[int]) -> tuple[list[Explained], list[Call]]:
    from core.db import close_db, init_db
    from resolvers.system import complete_ended, expire_started
    from workers.reminders import send_due_reminders

    await init_db(with_pool(url, 4))
    conn = await asyncpg.connect(dsn(url), statement_cache_size=0)
    try:
        calls = {"reminders": (send_due_reminders, "reminder"),
                 "S1 complete_ended": (complete_ended, "meeting"),
                 "S2 expire_started": (expire_started, "meeting")}
        plans = []
        for sweep, (call, table) in calls.items():
            sql, values = await captured_select(call, empty, table)
            print(f"{sweep} selection:\n  {sql}\n  {values}", flush=True)
            for n in dues:
                moment = at[n] if sweep == "reminders" else await instant(conn, sweep, n)
                if moment is None:
                    continue
                for mode in ("custom", "generic"):
                    plans.append(await explain(conn, sweep, n, sql,
                                               moved(values, empty, moment), mode))
        # What if: S1 with an index on (status, ends_at), on this throwaway database only.
        sql, values = await captured_select(complete_ended, empty, "meeting")
        await conn.execute(f"CREATE INDEX {WHAT_IF} ON meeting (status, ends_at)")
        await conn.execute("ANALYZE meeting")
        for n in dues:
            moment = await instant(conn, "S1 complete_ended", n)
            if moment is not None:
                plans.append(await explain(conn, "S1 complete_ended, what-if index "
                                           "(status, ends_at)", n, sql,
                                           moved(values, empty, moment), "custom"))
        await conn.execute(f"DROP INDEX {WHAT_IF}")
        await conn.execute("ANALYZE meeting")
        timings = [await timed_calls(url, at[n], n) for n in dues]
    finally:
        await conn.close()
        await close_db()
    return plans, timings


# --- worker processes ------------------------------------------------------------------------

async def worker() -> None:
    """`--worker`: send due reminders at BENCH_NOW until none are due; one JSON line out."""
    from core.db import close_db, init_db
    from models.enums import MeetingStatus
    from models.meetings import Reminder
    from workers.reminders import send_due_reminders

    with_cpus = set(range(os.cpu_count() or 1))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, with_cpus)  # the parent is pinned; the workers are not
    now = datetime.fromisoformat(os.environ["BENCH_NOW"])
    clock.use(FrozenClock(now))
    await init_db(os.environ["BENCH_DATABASE_URL"])
    try:
        remaining = Reminder.filter(sent_at__isnull=True, due_at__lte=now,
                                    meeting__status=MeetingStatus.AGREED,
                                    meeting__starts_at__gt=now)
        await remaining.count()  # warm the pool and the ORM
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        started, cpu = time.time(), time.process_time()
        sent = calls = empty = 0
        while True:
            done = await send_due_reminders()
            calls += 1
            sent += done
            if done == 0:
                empty += 1
                if await remaining.count() == 0:
                    break
                await asyncio.sleep(0.005)  # the other worker holds what is left
        ended = time.time()
        print(json.dumps({"pid": os.getpid(), "sent": sent, "calls": calls, "empty": empty,
                          "started": started, "ended": ended,
                          "cpu": time.process_time() - cpu}), flush=True)
    finally:
        await close_db()


@dataclass
class Run:
    workers: int
    due: int
    wall: float
    per: list[dict[str, Any]]
    checks: dict[str, int]

    @property
    def ok(self) -> bool:
        c = self.checks
        return (c["sent_rows"] == self.due == c["events"] == c["notifications"]
                and c["sent_not_due"] == c["duplicate_events"] == c["unsent_due"] == 0)


async def run_workers(url: str, at: datetime, due: int, n: int) -> Run:
    env = {**os.environ, "BENCH_DATABASE_URL": with_pool(url, 4),
           "BENCH_NOW": at.isoformat(), "PYTHONPATH": str(ROOT)}
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--worker", cwd=ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE) for _ in range(n)]
    for p in procs:
        assert p.stdout is not None
        line = await asyncio.wait_for(p.stdout.readline(), 120)
        if line.strip() != b"ready":
            raise RuntimeError(f"worker said {line!r}")
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        await p.stdin.drain()
    per = []
    for p in procs:
        out, _ = await p.communicate()
        if p.returncode:
            raise RuntimeError(f"worker exited with {p.returncode}")
        per.append(json.loads(out.decode().strip().splitlines()[-1]))
    wall = max(w["ended"] for w in per) - min(w["started"] for w in per)
    conn = await asyncpg.connect(dsn(url))
    try:
        checks = {
            "sent_rows": await conn.fetchval(
                "SELECT count(*) FROM reminder WHERE sent_at IS NOT NULL"),
            "sent_not_due": await conn.fetchval(
                "SELECT count(*) FROM reminder WHERE sent_at IS NOT NULL AND due_at > $1", at),
            "unsent_due": await conn.fetchval(DUE["reminders"], at),
            "events": await conn.fetchval(
                "SELECT count(*) FROM timeline_event WHERE kind = ANY($1::text[])",
                list(SENT_KINDS)),
            "duplicate_events": await conn.fetchval(
                "SELECT count(*) FROM (SELECT meeting_id, kind FROM timeline_event "
                "WHERE kind = ANY($1::text[]) GROUP BY 1, 2 HAVING count(*) > 1) d",
                list(SENT_KINDS)),
            "notifications": await conn.fetchval("SELECT count(*) FROM notification"),
        }
        await reset(conn)
    finally:
        await conn.close()
    return Run(n, due, wall, per, checks)


# --- report --------------------------------------------------------------------------------

def report(sizes: dict[str, float], plans: list[Explained], calls: list[Call],
           runs: list[Run], batch: int) -> str:
    lines = [f"Machine: {machine()}",
             f"Data: {int(sizes['meeting_rows']):,} meetings ({int(sizes['meeting_pages']):,} "
             f"pages), {int(sizes['reminder_rows']):,} reminders "
             f"({int(sizes['reminder_pages']):,} pages); loaded in {sizes['load_seconds']:.1f} s",
             "",
             "| Sweep selection query | due rows | plan | rows returned | execution (ms) | "
             "planning (ms) | shared buffers hit / read | plan's scans | rows removed by "
             "filter |",
             "|---|---:|---|---:|---:|---:|---:|---|---:|"]
    for p in plans:
        scans = "; ".join(dict.fromkeys(p.scans))
        if p.seq_scan_meeting:
            scans = f"**{scans}** (sequential scan of all meetings)"
        lines.append(f"| {p.sweep} | {p.due:,} | {p.mode} | {p.returned:,} | "
                     f"{p.execution_ms:.3f} | "
                     f"{p.planning_ms:.3f} | {p.hit:,} / {p.read:,} | {scans} | {p.removed:,} |")
    by = {(p.sweep, p.due): p for p in plans if p.mode == "custom"}
    lines.append("")
    for sweep in dict.fromkeys(p.sweep for p in plans):
        lo, hi = by.get((sweep, 10)), by.get((sweep, 10_000))
        if lo and hi:
            lines.append(f"* {sweep} (custom plans): 10,000 due / 10 due: execution ×"
                         f"{hi.execution_ms / lo.execution_ms:.1f}, buffers ×"
                         f"{(hi.hit + hi.read) / max(1, lo.hit + lo.read):.1f}")
    lines += ["", f"| `send_due_reminders()` (one call, claims of {batch}) | due rows | sent by "
              "the call | wall, median (ms) | min–max (ms) | per reminder sent (ms) |",
              "|---|---:|---:|---:|---:|---:|"]
    for c in calls:
        wall = statistics.median(c.wall_ms)
        sent = statistics.median(c.sent)
        lines.append(f"| one call | {c.due:,} | {sent:,.0f} | {wall:.1f} | "
                     f"{min(c.wall_ms):.1f}–{max(c.wall_ms):.1f} | {wall / max(1, sent):.2f} |")
    if runs:
        lines += ["", "| Worker processes | due reminders | wall (s) | reminders/s total | "
                  "per process: sent, reminders/s, calls (empty), worker CPU per reminder "
                  "(ms) | sent exactly once |",
                  "|---:|---:|---:|---:|---|---|"]
        for r in runs:
            parts = []
            for w in r.per:
                seconds = w["ended"] - w["started"]
                parts.append(f"{w['sent']:,}, {w['sent'] / seconds:.0f}/s, {w['calls']} "
                             f"({w['empty']}), {w['cpu'] * 1000 / max(1, w['sent']):.2f}")
            c = r.checks
            check = ("yes" if r.ok else "**NO**") + (
                f" (sent_at set {c['sent_rows']:,}, events {c['events']:,}, notifications "
                f"{c['notifications']:,}, duplicates {c['duplicate_events']}, left due "
                f"{c['unsent_due']}, sent early {c['sent_not_due']})")
            lines.append(f"| {r.workers} | {r.due:,} | {r.wall:.1f} | {r.due / r.wall:.0f} | "
                         f"{'; '.join(parts)} | {check} |")
        base = next((r for r in runs if r.workers == 1), None)
        for r in runs:
            if base is not None and r.workers > 1:
                lines.append(f"\n{r.workers} workers / 1 worker: throughput "
                             f"×{(r.due / r.wall) / (base.due / base.wall):.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meetings", type=int, default=100_000)
    parser.add_argument("--awaiting", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, '' for none")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker())
        return
    from workers.reminders import CLAIM

    pin_self()
    dues = [10, 10_000]
    t0 = (datetime.now(UTC) + timedelta(days=30)).replace(minute=0, second=0, microsecond=0)
    empty = t0 - timedelta(days=30)  # before any reminder is due or any meeting starts
    print(f"PostgreSQL admin URL: {PG_ADMIN}", flush=True)
    with fresh_database() as url:
        sizes = asyncio.run(load(url, args.meetings, args.awaiting, t0))
        print(f"loaded in {sizes['load_seconds']:.1f} s", flush=True)

        async def instants() -> dict[int, datetime]:
            conn = await asyncpg.connect(dsn(url))
            try:
                found = {n: await instant(conn, "reminders", n) for n in dues}
                return {n: at for n, at in found.items() if at is not None}
            finally:
                await conn.close()

        at = asyncio.run(instants())
        plans, calls = asyncio.run(single_process(url, at, empty, dues))
        runs = []
        for n in [int(w) for w in args.workers.split(",") if w.strip()]:
            runs.append(asyncio.run(run_workers(url, at[10_000], 10_000, n)))
            print(f"{n} worker(s): {runs[-1].wall:.1f} s", flush=True)
        print()
        print(report(sizes, plans, calls, runs, CLAIM))


if __name__ == "__main__":
    main()
