"""The fault suite's machinery, shared by tests/faults/ and scripts/fault_study.py: a private
PostgreSQL (initdb in a temporary directory, on a free port) and a private redis-server, the
app's own processes (`meetings serve`, `meetings worker`) against them, a load of keyed,
retried mutations, and the invariants checked in SQL afterwards."""

import asyncio
import concurrent.futures
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets

from tests.support.live import RedisServer
from tests.support.ports import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]
GRACE_SECONDS = 3


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


PG_BIN = _pg_bin()


class PrivatePostgres:
    """A PostgreSQL cluster of our own: started, stopped, restarted, killed at will."""

    def __init__(self) -> None:
        assert PG_BIN is not None, "no PostgreSQL binaries under /usr/lib/postgresql"
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="meetings-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.root, "postgres", "postgres")
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth=trust", "-E", "UTF8", "--no-sync"])

    def _run(self, command: list[str], check: bool = True) -> None:
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=check, capture_output=True, timeout=60)

    def url(self, database: str = "meetings", pool: int = 20) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}?maxsize={pool}"

    def start(self) -> None:
        # synchronous_commit stays on: an immediate stop must not lose acknowledged commits
        # (the suite checks that every mutation answered as done is in the database).
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 "
                   f"-c unix_socket_directories={self.root} -c fsync=off "
                   f"-c synchronous_commit=on -c full_page_writes=off -c max_connections=300")
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                   "-o", options, "-w", "-t", "30", "start"])

    def stop(self, mode: str = "fast") -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
                  check=False)

    def restart(self) -> None:
        self.stop("fast")
        self.start()

    async def create(self, database: str = "meetings") -> None:
        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


class KillableRedis(RedisServer):
    def kill(self) -> None:
        """Gone at once, data included (no persistence, as in the tests and the study)."""
        if self.process:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class Process:
    """One of the app's processes, its output in a log file."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.popen = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=out,
                                      stderr=subprocess.STDOUT)
        if self.port is not None:
            wait_port(self.port, timeout=60)
            httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=10).raise_for_status()

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"

    def signal(self, signum: int) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signum)

    def wait(self, timeout: float) -> int | None:  # noqa: ASYNC109
        """The exit status, or None when still running after `timeout`."""
        assert self.popen is not None
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            if self.wait(GRACE_SECONDS + 15) is None:
                self.popen.kill()
                self.popen.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class Stack:
    pg: PrivatePostgres
    redis: KillableRedis
    env: dict[str, str]
    logs: Path
    processes: list[Process] = field(default_factory=list)

    def server(self, name: str = "api") -> Process:
        port = free_port()
        process = Process(name, [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                          self.env, self.logs / f"{name}.log", port=port)
        self.processes.append(process)
        return process

    def worker(self, name: str = "worker") -> Process:
        process = Process(name, [sys.executable, "-m", "app.cli", "worker", "--threads", "4"],
                          self.env, self.logs / f"{name}.log")
        self.processes.append(process)
        return process

    @property
    def db(self) -> str:
        return self.pg.url().split("?", 1)[0].replace("postgres://", "postgresql://")


@contextlib.contextmanager
def stack(**settings: str) -> Iterator[Stack]:
    """Private PostgreSQL + Redis and the environment the app's processes run with."""
    pg = PrivatePostgres()
    pg.start()
    # Its own loop, in a thread: callers may be inside a running loop (the study).
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, pg.create()).result()
    redis = KillableRedis()
    redis.start()
    logs = Path(tempfile.mkdtemp(prefix="meetings-faults-"))
    env = {**os.environ, "DATABASE_URL": pg.url(), "REDIS_URL": redis.url,
           "DRAMATIQ_NAMESPACE": f"faults-{uuid.uuid4().hex[:6]}",
           "WORKER_INTERVAL_SECONDS": "0.5", "CONFERENCE_JOB_DEADLINE_SECONDS": "3",
           "CONFERENCE_PROVIDER": "jitsi", "GRACEFUL_SHUTDOWN_SECONDS": str(GRACE_SECONDS),
           "RATE_LIMIT_MUTATIONS": "1000000000", "LOG_LEVEL": "WARNING",
           "ENVIRONMENT": "development", **settings}
    for name in ("SMTP_URL", "MEETINGS_TEST_DB"):
        env.pop(name, None)
    s = Stack(pg, redis, env, logs)
    try:
        yield s
    finally:
        for process in reversed(s.processes):
            with contextlib.suppress(Exception):
                process.stop()
        redis.kill()
        pg.close()
        if not os.environ.get("FAULTS_KEEP_LOGS"):
            shutil.rmtree(logs, ignore_errors=True)


# --- load: keyed mutations, retried until answered -------------------------------------------

RETRYABLE_STATUS = {502, 503, 504}


@dataclass
class Tally:
    """What the clients saw."""

    answered: int = 0  # mutations that got their final answer
    client_errors: int = 0  # answers that were errors or no answer at all (then retried)
    plain_errors: int = 0  # answers that were not GraphQL JSON (a plain 500, HTML, …)
    replayed: int = 0  # answers that came from the idempotency store
    ambiguous: int = 0  # given up on without a final answer
    first_error_at: float | None = None
    last_error_at: float | None = None

    def error(self) -> None:
        now = time.monotonic()
        self.client_errors += 1
        self.first_error_at = self.first_error_at or now
        self.last_error_at = now


async def keyed(http: httpx.AsyncClient, token: str, query: str, variables: dict[str, Any],
                tally: Tally, *, give_up_after: float = 120.0,
                others: list[httpx.AsyncClient] | None = None) -> dict[str, Any] | None:
    """Sends a mutation with a fresh Idempotency-Key and retries it with the same key until a
    final answer (data, or a domain error in the payload) arrives; retries go to `others`
    (other server processes) in turn."""
    key = uuid.uuid4().hex
    deadline = time.monotonic() + give_up_after
    targets = [http, *(others or [])]
    attempt = 0
    while time.monotonic() < deadline:
        http = targets[attempt % len(targets)]
        attempt += 1
        try:
            response = await http.post(
                "/graphql", json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key,
                         "Accept": "application/graphql-response+json"}, timeout=30)
        except httpx.HTTPError:
            tally.error()
            await asyncio.sleep(0.2)
            continue
        try:
            body = response.json()
        except ValueError:
            tally.plain_errors += 1
            tally.error()
            await asyncio.sleep(0.2)
            continue
        if body.get("data") and not body.get("errors"):
            tally.answered += 1
            tally.replayed += response.headers.get("idempotent-replayed") == "true"
            return body["data"]  # type: ignore[no-any-return]
        tally.error()
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
        if not codes & {"SERVICE_UNAVAILABLE", "INTERNAL_SERVER_ERROR"} and \
                response.status_code not in RETRYABLE_STATUS:
            raise AssertionError(f"unexpected answer {response.status_code}: {body}")
        await asyncio.sleep(0.2)
    tally.ambiguous += 1
    return None


# --- subscription load ------------------------------------------------------------------------

CHANGES = """subscription($after: String) { meetingChanged(after: $after) { position resync } }"""


class Watcher:
    """One expert's account-wide subscription, resumed with `after` after every close."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.positions: list[int] = []
        self.resyncs = 0
        self.duplicates = 0
        self.ended: list[str] = []  # subscriptions the server ended (should be none)
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self._once()
            await asyncio.sleep(0.3)

    async def _once(self) -> None:
        async with websockets.connect(f"ws://{self.base}/graphql",
                                      subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init",
                                      "payload": {"authorization": f"Bearer {self.token}"}}))
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if ack["type"] != "connection_ack":
                return
            after = str(self.positions[-1]) if self.positions else None
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": CHANGES, "variables": {"after": after}}}))
            seen: set[int] = set()
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                if message["type"] in ("error", "complete") or (
                        message["type"] == "next" and message["payload"].get("errors")):
                    self.ended.append(json.dumps(message)[:300])
                    return  # ended by the server: subscribe again (counted)
                if message["type"] != "next" or not message["payload"].get("data"):
                    continue
                change = message["payload"]["data"]["meetingChanged"]
                position = int(change["position"])
                self.resyncs += bool(change["resync"])
                if position in seen:
                    self.duplicates += 1
                seen.add(position)
                if position not in self.positions:
                    self.positions.append(position)



# --- invariants, in SQL -----------------------------------------------------------------------

INVARIANTS = {
    "credits blocked = sum of blocked meetings": """
        SELECT count(*) FROM account a WHERE a.credits_blocked <> coalesce((
            SELECT sum(m.price_credits) FROM meeting m
             WHERE m.user_id = a.id AND m.credit_status = 'BLOCKED'), 0)""",
    "no negative balance": """
        SELECT count(*) FROM account WHERE credits_available < 0 OR credits_blocked < 0""",
    "outbox drained": "SELECT count(*) FROM outbox_entry WHERE delivered_at IS NULL",
    "agreed meetings with a conference": """
        SELECT count(*) FROM meeting WHERE status = 'AGREED' AND conference_status = 'PENDING'""",
    "conference created at most once": """
        SELECT count(*) FROM (SELECT meeting_id FROM timeline_event
         WHERE kind = 'CONFERENCE_CREATED' GROUP BY 1 HAVING count(*) > 1) d""",
    "reminder sent at most once": """
        SELECT count(*) FROM (SELECT meeting_id, kind FROM timeline_event
         WHERE kind IN ('REMINDER_SENT', 'LINK_SENT') GROUP BY 1, 2 HAVING count(*) > 1) d""",
    "one request per answered key": """
        SELECT count(*) FROM (SELECT user_id, starts_at FROM meeting
         GROUP BY 1, 2 HAVING count(*) > 1) d""",
}


async def violations(db: str) -> dict[str, int]:
    conn = await asyncpg.connect(db)
    try:
        return {name: int(await conn.fetchval(sql)) for name, sql in INVARIANTS.items()}
    finally:
        await conn.close()


async def until(db: str, names: list[str], timeout: float) -> float:  # noqa: ASYNC109
    """Seconds until the named invariants hold (they converge after a fault); raises when
    they still do not after `timeout`."""
    started = time.monotonic()
    while True:
        found = await violations(db)
        if all(found[n] == 0 for n in names):
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"after {timeout}s: {found}")
        await asyncio.sleep(0.25)


def in_days(days: int, hours: int = 0) -> str:
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return (base + timedelta(days=days, hours=hours)).isoformat()
