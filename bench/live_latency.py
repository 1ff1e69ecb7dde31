"""Commit → subscriber latency of `meetingChanged`, beside a raw Redis pub/sub round trip.

    .venv/bin/python bench/live_latency.py [--events 300] [--warmup 20] [--gap-ms 20]

A fresh PostgreSQL database, a private redis-server and one uvicorn process (CPU 0); this
process (CPU 1) holds one graphql-transport-ws subscriber on `meetingChanged` (every meeting
of the user's) and changes the meeting over HTTP as the expert, one change at a time. For
each change it records when the request was sent, when its HTTP response was received (the
transaction committed before the response), and when the WebSocket event arrived. In the
same run, between the changes, it times PUBLISH → pub/sub receive on the same Redis with
redis.asyncio: the floor any Redis-relayed event pays from a Python process.
"""

import argparse
import asyncio
import contextlib
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import redis.asyncio as aioredis
from _harness import (
    CHANGES,
    Server,
    app_server,
    change_request,
    check_change,
    fresh_database,
    machine,
    market,
    ms,
    next_event,
    percentile,
    pin_self,
    raise_nofile,
    redis_server,
    subscribe,
    ws_connection,
)

GOAL_P50, GOAL_P99 = 0.005, 0.020


async def measure(server: Server, redis_url: str, events: int, warmup: int, gap: float
                  ) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"sent": [], "response": [], "http": [], "redis": []}
    async with httpx.AsyncClient(base_url=f"http://{server.base}", timeout=30) as http:
        m = await market(http)
        headers = {"Authorization": f"Bearer {m.expert.token}"}
        redis = aioredis.Redis.from_url(redis_url)
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe("bench:rtt")
        async with ws_connection(server.base, m.user.token) as ws:
            await subscribe(ws, CHANGES, {})  # every meeting of the viewer's
            await asyncio.sleep(0.5)  # the subscription is registered before the first event
            arrivals: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
            redis_arrivals: asyncio.Queue[float] = asyncio.Queue()

            async def read_ws() -> None:
                while True:
                    arrivals.put_nowait(await next_event(ws))

            async def read_redis() -> None:
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        redis_arrivals.put_nowait(time.perf_counter())

            readers = [asyncio.create_task(read_ws()), asyncio.create_task(read_redis())]
            # A payload the size of a real outbox event.
            probe = orjson.dumps({"id": 123456, "kind": "MEETING_CHANGED", "meeting_id": 42,
                                  "event_id": 4242, "account_ids": [17, 18]})
            try:
                for step in range(warmup + events):
                    body = change_request(m, step)
                    sent = time.perf_counter()
                    response = await http.post("/graphql", json=body, headers=headers)
                    received = time.perf_counter()
                    version = check_change(response.json())
                    while True:
                        arrived, data = await asyncio.wait_for(arrivals.get(), 10)
                        if data["meetingChanged"]["meeting"]["version"] >= version:
                            break
                    await asyncio.sleep(gap)
                    published = time.perf_counter()
                    await redis.publish("bench:rtt", probe)
                    redis_arrived = await asyncio.wait_for(redis_arrivals.get(), 10)
                    if step >= warmup:
                        figures["sent"].append(arrived - sent)
                        figures["response"].append(arrived - received)
                        figures["http"].append(received - sent)
                        figures["redis"].append(redis_arrived - published)
                    await asyncio.sleep(gap)
            finally:
                for task in readers:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await pubsub.aclose()
                await redis.aclose()
    return figures


def report(figures: dict[str, list[float]], gap: float) -> None:
    rows = [
        ("mutation request sent → event received", figures["sent"]),
        ("mutation response received → event received", figures["response"]),
        ("(mutation HTTP round trip, for scale)", figures["http"]),
        ("Redis PUBLISH → pub/sub message received (redis.asyncio)", figures["redis"]),
    ]
    print(f"\n{datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    print(f"{len(figures['sent'])} events, one subscriber, sequential changes, "
          f"{gap * 1000:.0f} ms idle between steps; server on CPU 0, client on CPU 1\n")
    print("| Path | n | p50 (ms) | p99 (ms) | max (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, values in rows:
        print(f"| {name} | {len(values)} | {ms(percentile(values, 50))} | "
              f"{ms(percentile(values, 99))} | {ms(max(values))} |")
    redis50, redis99 = percentile(figures["redis"], 50), percentile(figures["redis"], 99)
    early = sum(1 for v in figures["response"] if v < 0)
    print(f"\nEvents that arrived before the mutation's HTTP response: {early} of "
          f"{len(figures['response'])}")
    for name, key in (("sent", "sent"), ("response", "response")):
        p50, p99 = percentile(figures[key], 50), percentile(figures[key], 99)
        print(f"Ratio live/Redis ({name} → event): p50 ×{p50 / redis50:.1f}, "
              f"p99 ×{p99 / redis99:.1f}")
    for name, key in (("sent", "sent"), ("response", "response")):
        p50, p99 = percentile(figures[key], 50), percentile(figures[key], 99)
        verdict50 = "met" if p50 < GOAL_P50 else f"NOT met (+{ms(p50 - GOAL_P50)} ms)"
        verdict99 = "met" if p99 < GOAL_P99 else f"NOT met (+{ms(p99 - GOAL_P99)} ms)"
        print(f"Goal p50 < 5 ms / p99 < 20 ms, measured from {name}: p50 {verdict50}, "
              f"p99 {verdict99}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    args = parser.parse_args()
    raise_nofile()
    pinned = pin_self()
    print(f"load generator pinned to CPU 1: {pinned}")
    with fresh_database() as url, redis_server() as redis_url, \
            app_server(url, redis_url) as server:
        figures = asyncio.run(measure(server, redis_url, args.events, args.warmup,
                                      args.gap_ms / 1000))
    report(figures, args.gap_ms / 1000)


if __name__ == "__main__":
    main()
