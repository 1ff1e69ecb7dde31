"""Idle live connections: server memory per connection, and targeted delivery among them.

    .venv/bin/python bench/live_connections.py [--sizes 1000,5000,10000] [--rate 200]
        [--seconds 10] [--app app.asgi:create_app] [--uvicorn-arg=--ws=...] [--json FILE]

Browser-like clients: each connection is a distinct account (a JWT of its own), speaks
graphql-transport-ws, offers permessage-deflate as every browser does (the `websockets`
client's default offer, client_max_window_bits) and subscribes to `notificationReceived`.
For each size a fresh server process (CPU 0; this process on CPU 1, private redis-server,
fresh PostgreSQL database):

* RSS per idle connection: (VmRSS with N open and subscribed - VmRSS before) / N, after the
  subscriptions are all running (the server's `meetings_live_subscriptions` gauge);
* targeted delivery: for --seconds, --rate events per second, each to its two parties (two
  notification rows written beforehand, their two `notification:<account>` messages
  published in one pipeline, as the relay does): latency from the PUBLISH to the arrival of
  the `next` frame at the party's socket, p50/p99/max over all arrivals; plus how many
  arrived, and the server's CPU per event.
"""

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data import _dsn  # noqa: E402
from _harness import (  # noqa: E402
    Server,
    app_server,
    fresh_database,
    machine,
    ms,
    no_client_gc,
    percentile,
    pin_self,
    raise_nofile,
    redis_server,
    subscribed_socket,
    token,
)

from subscriptions import carried, channels  # noqa: E402

NOTIFIED = "subscription { notificationReceived { id kind title readAt } }"
TARGET_KIB = 40
TARGET_P99 = 0.050


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    import os

    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


async def accounts(url: str, n: int) -> list[int]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            "account", columns=["key", "display_name", "email", "timezone", "is_admin",
                                "credits_available", "credits_blocked", "created_at"],
            records=[(f"live-{i}", f"live-{i}", "", "UTC", False, 0, 0, now)
                     for i in range(n)])
        rows = await conn.fetch("SELECT id FROM account WHERE key LIKE 'live-%' "
                                "ORDER BY length(key), key")
        return [r["id"] for r in rows]
    finally:
        await conn.close()


async def notifications(url: str, recipients: list[int]) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        now = datetime.now(UTC)
        last = await conn.fetchval("SELECT coalesce(max(id), 0) FROM notification")
        await conn.copy_records_to_table(
            "notification", columns=["recipient_id", "kind", "title", "body", "created_at"],
            records=[(r, "MEETING_CONFIRMED", "Meeting confirmed", "", now)
                     for r in recipients])
        rows = await conn.fetch("SELECT * FROM notification WHERE id > $1 ORDER BY id", last)
        return [dict(r) for r in rows]
    finally:
        await conn.close()


def _event(row: dict[str, Any]) -> str:
    """The event the relay publishes for a notification row, its row carried with it."""
    return json.dumps({"id": row["id"], "kind": "NOTIFICATION", "notification_id": row["id"],
                       "recipient_id": row["recipient_id"],
                       carried.NOTIFICATION: carried.notification_values(row)})


class Client:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.arrivals: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.ws:
                arrived = time.perf_counter()
                message = json.loads(raw)
                if message["type"] == "ping":
                    await self.ws.send('{"type":"pong"}')
                elif message["type"] == "next":
                    node = message["payload"]["data"]["notificationReceived"]
                    self.arrivals[int(_pk(node["id"]))] = arrived


def _pk(global_id: str) -> int:
    import base64

    return int(base64.b64decode(global_id).decode().rsplit(":", 1)[1])


async def open_client(base: str, bearer: str) -> Client:
    ws = await subscribed_socket(base, bearer, NOTIFIED)
    client = Client(ws)
    client.task = asyncio.create_task(client.read())
    return client


async def measure(server: Server, redis_url: str, url: str, ids: list[int], tokens: list[str],
                  rate: int, seconds: float, traced: bool = False) -> dict[str, Any]:
    n = len(ids)
    if traced:
        async with httpx.AsyncClient(timeout=60) as http:
            (await http.get(f"http://{server.base}/debug/mark")).raise_for_status()
    before = server.rss_kib()
    started = time.monotonic()
    clients: list[Client] = []
    gate = asyncio.Semaphore(100)

    async def one(bearer: str) -> Client:
        async with gate:
            return await open_client(server.base, bearer)

    clients = list(await asyncio.gather(*(one(b) for b in tokens)))
    # graphql-transport-ws does not acknowledge a subscribe: a probe event to the last
    # connection opened tells that the subscriptions are running.
    probe = (await notifications(url, [ids[-1]]))[0]
    redis = aioredis.Redis.from_url(redis_url)
    while probe["id"] not in clients[-1].arrivals:
        await redis.publish(channels.account_notifications(ids[-1]), _event(probe))
        await asyncio.sleep(0.5)
    setup = time.monotonic() - started
    await asyncio.sleep(2.0)
    idle = server.rss_kib()
    if traced:
        async with httpx.AsyncClient(timeout=120) as http:
            print((await http.get(f"http://{server.base}/debug/diff?n={n}")).text, flush=True)
    deflate = sum(1 for c in clients if c.ws.protocol.extensions)
    # Targeted events: each to its two parties.
    events = int(rate * seconds)
    pairs = [random.sample(range(n), 2) for _ in range(events)]
    rows = await notifications(url, [ids[i] for pair in pairs for i in pair])
    published: dict[int, tuple[float, int]] = {}
    cpu_before = _cpu_seconds(server.pid)
    with no_client_gc():
        await _send_and_await(redis, rows, pairs, rate, published, clients)
    cpu = _cpu_seconds(server.pid) - cpu_before
    await redis.aclose()
    latencies = [clients[who].arrivals[row] - at for row, (at, who) in published.items()
                 if row in clients[who].arrivals]
    after = server.rss_kib()
    for c in clients:
        with contextlib.suppress(Exception):
            await c.ws.close()
    return {"connections": n, "setup_s": setup, "rss_before_kib": before,
            "rss_idle_kib": idle, "rss_after_kib": after,
            "kib_per_connection": (idle - before) / n, "deflate_negotiated": deflate,
            "events": events, "arrivals": len(latencies), "expected": len(published),
            "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
            "max": max(latencies) if latencies else float("nan"),
            "server_cpu_ms_per_event": 1000 * cpu / max(1, events)}


async def _send_and_await(redis: Any, rows: list[dict[str, Any]], pairs: list[list[int]],
                          rate: int, published: dict[int, tuple[float, int]],
                          clients: list[Client]) -> None:
    """Publishes each pair's two events at `rate` pairs per second, then waits until every
    event arrived or nothing more came for 5 s."""
    t0 = time.perf_counter()
    for k, (a, b) in enumerate(pairs):
        due = t0 + k / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        first, second = rows[2 * k], rows[2 * k + 1]
        async with redis.pipeline(transaction=False) as pipe:
            for row in (first, second):
                pipe.publish(channels.account_notifications(row["recipient_id"]), _event(row))
            at = time.perf_counter()
            await pipe.execute()
        published[first["id"]] = (at, a)
        published[second["id"]] = (at, b)
    # Wait until every event arrived, or nothing more came for 5 s.
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() - quiet_since < 5.0:
        now = sum(1 for row, (_, who) in published.items() if row in clients[who].arrivals)
        if now == len(published):
            break
        if now != seen:
            seen, quiet_since = now, time.monotonic()
        await asyncio.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--app", default="app.asgi:create_app")
    parser.add_argument("--uvicorn-arg", action="append", default=[])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--tracemalloc", action="store_true",
                        help="serve bench.variants:traced and print where the Python heap "
                             "grew per connection")
    args = parser.parse_args()
    raise_nofile(30000)
    pin_self()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    print(machine(), flush=True)
    print(f"zlib {zlib.ZLIB_VERSION}; server: {args.app} {' '.join(args.uvicorn_arg)}")
    with fresh_database() as url, redis_server() as redis_url:
        ids = asyncio.run(accounts(url, max(sizes)))
        tokens = [token(f"live-{i}") for i in range(max(sizes))]
        for size in sizes:
            app = "bench.variants:traced" if args.tracemalloc else args.app
            with app_server(url, redis_url, app=app, extra_args=args.uvicorn_arg) as s:
                r = asyncio.run(measure(s, redis_url, url, ids[:size], tokens[:size],
                                        args.rate, args.seconds, args.tracemalloc))
            results.append(r)
            print(json.dumps(r), flush=True)
    print()
    print("| idle connections | setup (s) | RSS per connection (KiB) | deflate negotiated | "
          f"events ({args.rate}/s, 2 parties) | arrived | p50 (ms) | p99 (ms) | max (ms) | "
          "server CPU / event (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['connections']:,} | {r['setup_s']:.1f} | {r['kib_per_connection']:.1f} | "
              f"{r['deflate_negotiated']:,} | {r['events']:,} | {r['arrivals']:,} / "
              f"{r['expected']:,} | {ms(r['p50'])} | {ms(r['p99'])} | {ms(r['max'])} | "
              f"{r['server_cpu_ms_per_event']:.2f} |")
    print(f"\nTargets: ≤ {TARGET_KIB} KiB per idle connection; targeted p99 ≤ "
          f"{TARGET_P99 * 1000:.0f} ms at 10,000.")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
