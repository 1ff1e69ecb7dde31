"""Shared pieces of the benchmarks: a fresh PostgreSQL database, a private redis-server, a
uvicorn server process pinned to CPU 0, a market (expert, user, admin, one agreed meeting)
driven over HTTP, and a minimal graphql-transport-ws client. Not a test module: the
scripts in this folder print figures, they assert nothing about timings."""

import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.websocket_protocol import UVICORN_WS  # noqa: E402 - as production serves
from tests.support.ports import free_port, wait_port  # noqa: E402 - the tests' own helpers

PG_ADMIN = os.environ.get("MEETINGS_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")
SERVER_CPU, CLIENT_CPU = 0, 1
NOFILE = 20000

CHANGES = """subscription($id: ID) { meetingChanged(meetingId: $id) {
  meeting { id status version } event { kind } } }"""


# --- process setup -----------------------------------------------------------------------

def raise_nofile(wanted: int = NOFILE) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def pin_self(cpu: int = CLIENT_CPU) -> bool:
    with contextlib.suppress(AttributeError, OSError):
        if cpu < (os.cpu_count() or 1):
            os.sched_setaffinity(0, {cpu})
            return True
    return False


def machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{os.cpu_count()} cores ({model}), Linux {os.uname().release}, Python " \
           f"{sys.version.split()[0]}; load average {load} (other work on the machine " \
           "shows here)"


# --- database ------------------------------------------------------------------------------

async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _prepare(url: str) -> None:
    from app.seed import seed_reasons
    from core import db

    await db.migrate(url)
    await db.close_db()
    await db.init_db(url)
    try:
        await seed_reasons()
    finally:
        await db.close_db()


@contextlib.contextmanager
def fresh_database(pool: int = 20) -> Iterator[str]:
    """CREATE DATABASE bench_<random>, migrated and seeded; dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        url = f"postgres://postgres@127.0.0.1:5432/{name}?maxsize={pool}"
        asyncio.run(_prepare(url))
        yield url
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- redis and the app server ----------------------------------------------------------------

@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server, so that CLIENT LIST shows only the app's and our connections."""
    port = free_port()
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
         "no", "--maxclients", "10000"], stdout=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=30.0)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _server_preexec() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = NOFILE if hard == resource.RLIM_INFINITY else min(NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@contextlib.contextmanager
def no_client_gc() -> Iterator[None]:
    """The load generator without its cyclic collector while it times arrivals. A Python
    client holding 10,000 sockets spends up to ~0.8 s in one full collection, and every
    frame that arrives meanwhile is timed late: measured at 10,000 connections, targeted
    p99 48.9 ms / max 757 ms with the collector, 4.7 / 14.6 ms without, same server. wrk,
    the HTTP load generator, has no such pauses; the server keeps its own collector."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    base: str
    pid: int

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def app_server(database_url: str, redis_url: str, *, app: str = "app.asgi:create_app",
               extra_env: dict[str, str] | None = None,
               extra_args: list[str] | None = None, ws: str = UVICORN_WS) -> Iterator[Server]:
    """`uvicorn app.asgi:create_app` (one worker) pinned to CPU 0, NOFILE raised. `app` may
    name another factory (the reference endpoints in bench/baseline.py)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           **(extra_env or {})}
    # The benchmark changes one meeting far faster than a person would: keep the mutation
    # rate limiter in the path (its Redis round trip is part of a real mutation) but out of
    # the way.
    env.setdefault("RATE_LIMIT_MUTATIONS", "1000000000")
    command = [sys.executable, "-m", "uvicorn", app, "--factory",
               "--port", str(port), "--log-level", "warning", "--backlog", "8192",
               "--ws", ws, *(extra_args or [])]
    taskset = shutil.which("taskset")
    if taskset and (os.cpu_count() or 1) > 1:
        command = [taskset, "-c", str(SERVER_CPU), *command]  # taskset execs: same pid
    process = subprocess.Popen(command, cwd=ROOT, env=env, preexec_fn=_server_preexec)
    try:
        wait_port(port, timeout=30.0)
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).raise_for_status()
        yield Server(f"127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- driving the API -------------------------------------------------------------------------

def token(sub: str, *, admin: bool = False) -> str:
    from app.auth import make_token
    from core.settings import get_settings

    return make_token(get_settings(), sub, name=sub, admin=admin)


@dataclass
class Party:
    http: httpx.AsyncClient
    token: str
    id: str = ""

    async def q(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"})
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(body["errors"])
        return body["data"]  # type: ignore[no-any-return]


async def party(http: httpx.AsyncClient, *, admin: bool = False) -> Party:
    p = Party(http, token(f"bench-{uuid.uuid4().hex[:10]}", admin=admin))
    p.id = (await p.q("{ viewer { account { id } } }"))["viewer"]["account"]["id"]
    return p


@dataclass
class Market:
    expert: Party
    user: Party
    meeting_id: str
    starts_at: datetime


ALL_WEEK = ", ".join(
    f'{{weekday: {d}, startTime: "00:00", endTime: "24:00"}}'
    for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"))


async def market(http: httpx.AsyncClient) -> Market:
    """An expert free all week, a user with credits, and one AGREED meeting between them."""
    expert, user, admin = await party(http), await party(http), await party(http, admin=True)
    data = await expert.q(f"""mutation {{
      createExpertService(input: {{title: "Advice", skillNames: ["Advice"], lengthMinutes: 60,
                                   priceCredits: 50}}) {{
        service {{ id skills {{ id }} }} errors {{ code }} }}
      setWeeklyAvailability(input: {{timezone: "UTC", rules: [{ALL_WEEK}]}}) {{
        errors {{ code }} }} }}""")
    service = data["createExpertService"]["service"]
    await admin.q(
        "mutation($i: GrantCreditsInput!) { grantCredits(input: $i) { errors { code } } }",
        {"i": {"accountId": user.id, "amount": 1000, "reference": uuid.uuid4().hex}})
    starts_at = (datetime.now(UTC) + timedelta(days=7)).replace(minute=0, second=0,
                                                                  microsecond=0)
    created = await user.q(
        "mutation($i: RequestMeetingInput!) { requestMeeting(input: $i) { "
        "meeting { id } errors { code } } }",
        {"i": {"serviceId": service["id"], "skillId": service["skills"][0]["id"],
               "startsAt": starts_at.isoformat()}})
    meeting_id = created["requestMeeting"]["meeting"]["id"]
    confirmed = await expert.q(
        "mutation($i: MeetingRefInput!) { confirmMeeting(input: $i) { errors { code } } }",
        {"i": {"meetingId": meeting_id}})
    assert confirmed["confirmMeeting"]["errors"] == [], confirmed
    return Market(expert, user, meeting_id, starts_at)


RESCHEDULE = ("mutation($i: RescheduleMeetingInput!) { rescheduleMeeting(input: $i) { "
              "meeting { id version } errors { code } } }")
WITHDRAW = ("mutation($i: MeetingRefInput!) { cancelAlternativeDate(input: $i) { "
            "meeting { id version } errors { code } } }")


def change_request(m: Market, step: int) -> dict[str, Any]:
    """The body of the step-th change of the meeting: the expert alternately proposes an
    alternative date and withdraws it, so the meeting changes forever without running out
    of credits or dates. Every step writes one meetingChanged outbox row."""
    if step % 2 == 0:
        return {"query": RESCHEDULE,
                "variables": {"i": {"meetingId": m.meeting_id,
                                    "startsAt": (m.starts_at + timedelta(hours=2)).isoformat()}}}
    return {"query": WITHDRAW, "variables": {"i": {"meetingId": m.meeting_id}}}


def check_change(body: dict[str, Any]) -> int:
    """The meeting version a change produced (errors raise)."""
    if body.get("errors"):
        raise RuntimeError(body["errors"])
    (payload,) = body["data"].values()
    if payload["errors"]:
        raise RuntimeError(payload["errors"])
    return int(payload["meeting"]["version"])


# --- a minimal graphql-transport-ws client -------------------------------------------------

@contextlib.asynccontextmanager
async def ws_connection(base: str, bearer: str) -> AsyncIterator[ClientConnection]:
    async with connect(f"ws://{base}/graphql", subprotocols=["graphql-transport-ws"],
                       ping_interval=None, open_timeout=60, close_timeout=2,
                       max_queue=64) as ws:
        await ws.send(json.dumps({"type": "connection_init",
                                  "payload": {"authorization": f"Bearer {bearer}"}}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if ack["type"] != "connection_ack":
            raise RuntimeError(ack)
        yield ws


async def subscribed_socket(base: str, bearer: str, query: str,
                           variables: dict[str, Any] | None = None) -> ClientConnection:
    """An open graphql-transport-ws socket subscribed as id "1": many at once, so no context
    manager; the caller closes it. The websockets client offers permessage-deflate as browsers
    do; the server decides what it accepts."""
    ws = await connect(f"ws://{base}/graphql", subprotocols=["graphql-transport-ws"],
                       ping_interval=None, open_timeout=120, close_timeout=2, max_queue=16)
    await ws.send(json.dumps({"type": "connection_init",
                              "payload": {"authorization": f"Bearer {bearer}"}}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 120))
    if ack["type"] != "connection_ack":
        raise RuntimeError(ack)
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    return ws


async def subscribe(ws: ClientConnection, query: str, variables: dict[str, Any],
                    op_id: str = "1") -> None:
    await ws.send(json.dumps({"id": op_id, "type": "subscribe",
                              "payload": {"query": query, "variables": variables}}))


async def next_event(ws: ClientConnection) -> tuple[float, dict[str, Any]]:
    """(perf_counter at arrival, the `next` payload's data); pings are answered."""
    while True:
        raw = await ws.recv()
        arrived = time.perf_counter()
        message = json.loads(raw)
        if message["type"] == "ping":
            await ws.send(json.dumps({"type": "pong"}))
            continue
        if message["type"] != "next" or message["payload"].get("errors"):
            raise RuntimeError(message)
        return arrived, message["payload"]["data"]


# --- figures ------------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"
