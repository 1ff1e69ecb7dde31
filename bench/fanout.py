"""Fan-out of one meeting's changes to 1,000 and 5,000 WebSocket subscribers on one server.

    .venv/bin/python bench/fanout.py [--sizes 1000,5000] [--events 5] [--batch 250]

For each size a fresh uvicorn process (CPU 0) on one fresh PostgreSQL database and a private
redis-server; this process (CPU 1) opens N graphql-transport-ws connections, half as the
meeting's user and half as its expert, each subscribed to `meetingChanged(meetingId)` of
the same meeting. Then the expert changes the meeting, one change at a time (one warm-up,
then --events measured), and every connection timestamps its event. Reported per size:

* delivery latency from the mutation's HTTP response to each subscriber's arrival
  (p50/p99/max over all N × events arrivals), and the last arrival per event;
* CPU time the server and this client spent per event (from /proc and process_time),
  which tells whether the server or the load generator limits the figures;
* server memory per idle subscriber: VmRSS after connecting N minus VmRSS before, / N;
* the Redis connections the server process holds (CLIENT LIST, matched to the server's own
  sockets through /proc/<pid>/fd and /proc/net/tcp) and how many of them are pub/sub.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import redis.asyncio as aioredis
from _harness import (
    CHANGES,
    Market,
    Server,
    app_server,
    change_request,
    check_change,
    cpu_seconds,
    fresh_database,
    machine,
    market,
    ms,
    next_event,
    no_client_gc,
    percentile,
    pin_self,
    raise_nofile,
    redis_server,
    subscribed_socket,
)
from websockets.asyncio.client import ClientConnection

GOAL_P99_AT_5000 = 0.250


@dataclass
class Result:
    size: int
    connected: int = 0
    setup_seconds: float = 0.0
    rss_before_kib: int = 0
    rss_idle_kib: int = 0
    rss_after_kib: int = 0
    latencies: list[float] = field(default_factory=list)
    last_arrivals: list[float] = field(default_factory=list)
    missing: int = 0
    early: int = 0
    server_cpu_per_event: list[float] = field(default_factory=list)
    client_cpu_per_event: list[float] = field(default_factory=list)
    redis_clients: int = 0
    redis_pubsub: int = 0
    redis_channels: str = ""
    redis_commands: str = ""
    pg_connections: int = 0


# --- the server process's sockets ------------------------------------------------------------

def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return inodes


def _hex_addr(value: str) -> tuple[str, int]:
    host, port = value.split(":")
    # IPv4 is stored little-endian; IPv6 is left as hex (the app and Redis use 127.0.0.1).
    ip = ".".join(str(int(host[i:i + 2], 16)) for i in (6, 4, 2, 0)) if len(host) == 8 \
        else host
    return ip, int(port, 16)


def tcp_peers(pid: int) -> list[tuple[str, int, str, int]]:
    """(local ip, local port, remote ip, remote port) of the process's TCP sockets."""
    inodes = _socket_inodes(pid)
    peers = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            next(f)
            for line in f:
                parts = line.split()
                if parts[9] in inodes and parts[3] == "01":  # ESTABLISHED
                    peers.append((*_hex_addr(parts[1]), *_hex_addr(parts[2])))
    return peers


async def redis_figures(server: Server, redis_url: str, result: Result) -> None:
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    own = {f"{ip}:{port}" for ip, port, _, rport in tcp_peers(server.pid) if rport == redis_port}
    result.pg_connections = sum(1 for *_, rport in tcp_peers(server.pid) if rport == 5432)
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        clients = [c for c in await client.client_list() if c["addr"] in own]
        channels = await client.pubsub_numsub(*(await client.pubsub_channels()))
    finally:
        await client.aclose()
    result.redis_clients = len(clients)
    result.redis_pubsub = sum(1 for c in clients
                              if int(c.get("sub", 0)) + int(c.get("psub", 0)) > 0
                              or c.get("cmd") in ("subscribe", "psubscribe"))
    result.redis_commands = ", ".join(sorted(f"{c.get('cmd')} (sub={c.get('sub')})"
                                             for c in clients))
    result.redis_channels = ", ".join(f"{name} ({count} sub)" for name, count in channels)


# --- subscribers ------------------------------------------------------------------------------

async def open_subscriber(base: str, bearer: str, meeting_id: str) -> ClientConnection:
    return await subscribed_socket(base, bearer, CHANGES, {"id": meeting_id})


class Arrivals:
    """version → arrival times, and a signal once every subscriber has the version."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.times: dict[int, list[float]] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def waiter(self, version: int) -> asyncio.Event:
        return self.complete.setdefault(version, asyncio.Event())

    def add(self, version: int, arrived: float) -> None:
        times = self.times.setdefault(version, [])
        times.append(arrived)
        if len(times) >= self.expected:
            self.waiter(version).set()


async def read(ws: ClientConnection, arrivals: Arrivals) -> None:
    with contextlib.suppress(Exception):
        while True:
            arrived, data = await next_event(ws)
            arrivals.add(int(data["meetingChanged"]["meeting"]["version"]), arrived)


class Stepper:
    def __init__(self, m: Market) -> None:
        self.m, self.step = m, 0

    async def change(self, http: httpx.AsyncClient) -> tuple[float, int]:
        """One change of the meeting; (perf_counter at its response, the new version)."""
        body = change_request(self.m, self.step)
        self.step += 1
        response = await http.post("/graphql", json=body,
                                   headers={"Authorization": f"Bearer {self.m.expert.token}"})
        received = time.perf_counter()
        return received, check_change(response.json())


async def start_profile(server: Server, path: str | None) -> asyncio.subprocess.Process | None:
    """py-spy on the server over the measured events (``--profile``), as raw folded stacks."""
    if not path:
        return None
    binary = os.path.join(os.path.dirname(sys.executable), "py-spy")
    process = await asyncio.create_subprocess_exec(
        binary, "record", "-p", str(server.pid), "-o", path, "-f", "raw", "-r", "200",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    await asyncio.sleep(1.0)
    return process


async def run_size(server: Server, redis_url: str, m: Market, stepper: Stepper, size: int,
                   events: int, batch: int, profile: str | None = None) -> Result:
    result = Result(size)
    async with httpx.AsyncClient(base_url=f"http://{server.base}", timeout=60) as http:
        await http.get("/healthz")
        await asyncio.sleep(1.0)
        result.rss_before_kib = server.rss_kib()
        tokens = (m.user.token, m.expert.token)
        sockets: list[ClientConnection] = []
        started = time.perf_counter()
        try:
            for first in range(0, size, batch):
                opened = await asyncio.gather(
                    *(open_subscriber(server.base, tokens[i % 2], m.meeting_id)
                      for i in range(first, min(size, first + batch))),
                    return_exceptions=True)
                for ws in opened:
                    if isinstance(ws, BaseException):
                        print(f"  connection failed: {ws!r}")
                    else:
                        sockets.append(ws)
            result.setup_seconds = time.perf_counter() - started
            result.connected = len(sockets)
            arrivals = Arrivals(len(sockets))
            readers = [asyncio.create_task(read(ws, arrivals)) for ws in sockets]
            await asyncio.sleep(3.0)  # every subscribe has been handled; the server is idle
            result.rss_idle_kib = server.rss_kib()
            profiler = await start_profile(server, profile)

            with no_client_gc():
                for index in range(events + 1):  # the first change warms up
                    cpu_server, cpu_client = cpu_seconds(server.pid), time.process_time()
                    received, version = await stepper.change(http)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(arrivals.waiter(version).wait(), 120)
                    cpu_server = cpu_seconds(server.pid) - cpu_server
                    cpu_client = time.process_time() - cpu_client
                    times = arrivals.times.get(version, [])
                    if index == 0:
                        continue
                    latencies = [t - received for t in times]
                    result.latencies += latencies
                    result.last_arrivals.append(max(latencies, default=float("nan")))
                    result.missing += len(sockets) - len(times)
                    result.early += sum(1 for v in latencies if v < 0)
                    result.server_cpu_per_event.append(cpu_server)
                    result.client_cpu_per_event.append(cpu_client)
                    await asyncio.sleep(1.0)
            result.rss_after_kib = server.rss_kib()
            if profiler is not None:  # py-spy writes its file on SIGINT
                profiler.send_signal(signal.SIGINT)
                await profiler.wait()
            # After the events, so that the publishing connection is open too.
            await redis_figures(server, redis_url, result)
            for task in readers:
                task.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
        finally:
            for first in range(0, len(sockets), 1000):
                await asyncio.gather(*(ws.close() for ws in sockets[first:first + 1000]),
                                     return_exceptions=True)
    return result


def report(results: list[Result], events: int) -> None:
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    print(f"one uvicorn process on CPU 0, load generator on CPU 1; {events} measured events "
          "per size (after one warm-up), each to every subscriber\n")
    print("| Subscribers | connected | setup (s) | delivery p50 (ms) | p99 (ms) | max (ms) "
          "| last arrival, median of events (ms) | missing | server CPU / event (ms) "
          "| client CPU / event (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r.size:,} | {r.connected:,} | {r.setup_seconds:.1f} | "
              f"{ms(percentile(r.latencies, 50))} | {ms(percentile(r.latencies, 99))} | "
              f"{ms(max(r.latencies, default=float('nan')))} | "
              f"{ms(percentile(r.last_arrivals, 50))} | {r.missing} | "
              f"{ms(percentile(r.server_cpu_per_event, 50))} | "
              f"{ms(percentile(r.client_cpu_per_event, 50))} |")
    print("\n| Subscribers | server RSS before (MiB) | idle with N (MiB) | after events (MiB) "
          "| per idle subscriber (KiB) | Redis connections of the server | of which pub/sub "
          "| PostgreSQL connections |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per = (r.rss_idle_kib - r.rss_before_kib) / max(r.connected, 1)
        print(f"| {r.size:,} | {r.rss_before_kib / 1024:.1f} | {r.rss_idle_kib / 1024:.1f} | "
              f"{r.rss_after_kib / 1024:.1f} | {per:.1f} | {r.redis_clients} | "
              f"{r.redis_pubsub} | {r.pg_connections} |")
    for r in results:
        print(f"\nN={r.size:,}: the server's Redis connections, last command: "
              f"{r.redis_commands}; channels with subscribers: {r.redis_channels or 'none'}; "
              f"events before the HTTP response: {r.early}")
    biggest = max(results, key=lambda r: r.size)
    p99 = percentile(biggest.latencies, 99)
    verdict = "met" if p99 < GOAL_P99_AT_5000 else \
        f"NOT met (×{p99 / GOAL_P99_AT_5000:.1f}, +{ms(p99 - GOAL_P99_AT_5000)} ms)"
    print(f"\nGoal p99 < 250 ms at {biggest.size:,} subscribers: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--profile", metavar="FILE", help=(
        "record the server with py-spy (pip install py-spy) during the largest size's "
        "events, as folded stacks"))
    parser.add_argument("--apps", default="app.asgi:create_app", help=(
        "comma-separated server factories, each measured at every size in the same run "
        "(e.g. app.asgi:create_app,bench.variants:unshared_broadcast)"))
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"file descriptors: {raise_nofile()}; load generator pinned to CPU 1: {pin_self()}")
    results = []
    with fresh_database() as url, redis_server() as redis_url:
        m: Market | None = None
        stepper: Stepper | None = None
        for size, app in [(size, app) for size in sizes for app in args.apps.split(",")]:
            print(f"N={size:,} {app}", flush=True)
            with app_server(url, redis_url, app=app) as server:
                async def one(server: Server = server, size: int = size) -> Result:
                    nonlocal m, stepper
                    if m is None:
                        async with httpx.AsyncClient(base_url=f"http://{server.base}",
                                                     timeout=30) as http:
                            m = await market(http)
                        stepper = Stepper(m)
                    assert stepper is not None
                    profile = args.profile if size == max(sizes) else None
                    return await run_size(server, redis_url, m, stepper, size, args.events,
                                          args.batch, profile)

                result = asyncio.run(one())
                results.append(result)
                print(f"N={size:,}: {result.connected:,} connected in "
                      f"{result.setup_seconds:.1f} s, delivery p99 "
                      f"{ms(percentile(result.latencies, 99))} ms")
    report(results, args.events)


if __name__ == "__main__":
    main()
