"""Bulk data for the API benchmarks, written with asyncpg COPY and set-based INSERT … SELECT
(never row by row): filler accounts, services and meetings (each with two timeline events),
the list's meetings of one expert, and a stock of AWAITING_APPROVAL meetings to confirm or
decline."""

import random
from datetime import UTC, datetime, timedelta

import asyncpg

STATUSES = ("AWAITING_APPROVAL", "AGREED", "REJECTED", "CANCELLED", "COMPLETED", "EXPIRED")


def _dsn(url: str) -> str:
    return url.split("?", 1)[0].replace("postgres://", "postgresql://", 1)


async def _accounts(conn: asyncpg.Connection, prefix: str, n: int,
                    blocked: int = 0) -> list[int]:
    now = datetime.now(UTC)
    await conn.copy_records_to_table(
        "account",
        columns=["key", "display_name", "email", "timezone", "is_admin", "credits_available",
                 "credits_blocked", "created_at"],
        records=[(f"{prefix}-{i}", f"{prefix.title()} {i}", "", "UTC", False, 0, blocked, now)
                 for i in range(n)])
    rows = await conn.fetch("SELECT id FROM account WHERE key LIKE $1 ORDER BY id", f"{prefix}-%")
    return [r["id"] for r in rows]


async def _timeline(conn: asyncpg.Connection, after_id: int) -> None:
    """Two events per meeting above `after_id`: the request and the expert's answer."""
    await conn.execute("""
        INSERT INTO timeline_event (meeting_id, kind, label, at, actor, starts_at)
        SELECT id, 'REQUESTED_BY_USER', 'Request', created_at, 'USER', starts_at
          FROM meeting WHERE id > $1
        UNION ALL
        SELECT id, 'APPROVED_BY_EXPERT', 'Expert Approval', created_at, 'EXPERT', starts_at
          FROM meeting WHERE id > $1 AND status <> 'AWAITING_APPROVAL'
        ORDER BY 1""", after_id)


async def _meetings(conn: asyncpg.Connection, rows: list[tuple]) -> None:  # type: ignore[type-arg]
    await conn.copy_records_to_table(
        "meeting",
        columns=["user_id", "expert_id", "service_id", "skill_id", "starts_at", "ends_at",
                 "length_minutes", "price_credits", "status", "approved_by_user",
                 "approved_by_expert", "created_by", "credit_status", "version", "created_at",
                 "updated_at"],
        records=rows)


def _row(user: int, expert: int, service: int, skill: int, starts: datetime,
         status: str) -> tuple:  # type: ignore[type-arg]
    now = datetime.now(UTC)
    awaiting = status == "AWAITING_APPROVAL"
    credit = "BLOCKED" if status in ("AWAITING_APPROVAL", "AGREED") else "RETURNED"
    return (user, expert, service, skill, starts, starts + timedelta(hours=1), 60, 50, status,
            True, not awaiting, "USER", credit, 1 if awaiting else 2, now, now)


async def expert_meetings(url: str, expert_id: int, n: int) -> None:
    """`n` upcoming AGREED meetings of the benchmark expert with 20 users, one per hour."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        service, skill = await conn.fetchrow(
            "SELECT s.id, k.skill_id FROM expert_service s JOIN expert_service_skill k "
            "ON k.expert_service_id = s.id WHERE s.expert_id = $1 LIMIT 1", expert_id)
        users = await _accounts(conn, f"list-user-{expert_id}", 20)
        last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM meeting")
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
        await _meetings(conn, [_row(users[i % 20], expert_id, service, skill,
                                    start + timedelta(hours=i), "AGREED") for i in range(n)])
        await _timeline(conn, last)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def awaiting_meetings(url: str, expert_id: int, n: int, users: int = 100) -> list[int]:
    """`n` AWAITING_APPROVAL meetings (credits blocked) of `expert_id` with `users` users,
    starting 3 days from now, one per hour; returns their ids in order."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        service, skill = await conn.fetchrow(
            "SELECT s.id, k.skill_id FROM expert_service s JOIN expert_service_skill k "
            "ON k.expert_service_id = s.id WHERE s.expert_id = $1 LIMIT 1", expert_id)
        per_user = -(-n // users)
        ids = await _accounts(conn, f"mut-user-{expert_id}-{random.randrange(10**9)}", users,
                              blocked=50 * per_user)
        last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM meeting")
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
        base = await conn.fetchval(
            "SELECT coalesce(max(starts_at), $2) FROM meeting WHERE expert_id = $1",
            expert_id, start)
        start = max(start, base + timedelta(hours=1))
        await _meetings(conn, [_row(ids[i % users], expert_id, service, skill,
                                    start + timedelta(hours=i), "AWAITING_APPROVAL")
                               for i in range(n)])
        await _timeline(conn, last)
        await conn.execute("ANALYZE")
        rows = await conn.fetch("SELECT id FROM meeting WHERE id > $1 ORDER BY id", last)
        return [r["id"] for r in rows]
    finally:
        await conn.close()


async def filler(url: str, total: int, experts: int = 1000, users: int = 5000,
                 batch: int = 200_000) -> float:
    """Adds meetings between filler accounts until the table holds `total` meetings: random
    status, starts spread over two years around now. Returns the seconds it took."""
    started = datetime.now(UTC)
    conn = await asyncpg.connect(_dsn(url))
    try:
        have = await conn.fetchval("SELECT count(*) FROM meeting")
        if have >= total:
            return 0.0
        tag = random.randrange(10**9)
        expert_ids = await _accounts(conn, f"fill-expert-{tag}", experts)
        user_ids = await _accounts(conn, f"fill-user-{tag}", users)
        skill = await conn.fetchval(
            "INSERT INTO skill (name) VALUES ($1) RETURNING id", f"Filler {tag}")
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "expert_service", columns=["expert_id", "title", "length_minutes", "price_credits",
                                       "active", "created_at"],
            records=[(e, "Filler service", 60, 50, True, now) for e in expert_ids])
        services = dict(await conn.fetch(
            "SELECT expert_id, id FROM expert_service WHERE expert_id = ANY($1::int[])",
            expert_ids))
        rng = random.Random(tag)
        base = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=365)
        left = total - have
        while left > 0:
            size = min(batch, left)
            last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM meeting")
            rows = []
            for _ in range(size):
                expert = rng.choice(expert_ids)
                rows.append(_row(rng.choice(user_ids), expert, services[expert], skill,
                                 base + timedelta(hours=rng.randrange(2 * 365 * 24)),
                                 rng.choice(STATUSES)))
            await _meetings(conn, rows)
            await _timeline(conn, last)
            left -= size
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return (datetime.now(UTC) - started).total_seconds()


async def count(url: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def execute(url: str, sql: str) -> None:
    conn = await asyncpg.connect(_dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
