"""The API benchmarks behind `bench/run`: each figure beside its reference and ratio.

1. `{ viewer { account { id } } }` requests/s: the API vs bare graphql-core (bench/baseline.py).
2. The meeting list (role EXPERT, upcoming, first 20, with user, expert, service, skill and
   timeline): requests/s, p50, p99 vs a hand-written asyncpg endpoint returning the same JSON;
   and the SQL statements per request for first 20 and first 100.
3. confirmMeeting + declineMeeting per second on PostgreSQL (the full transaction).
4. Scale: the list's p50 (one connection, no queueing) with 1,000 and 1,000,000 meetings.
5. Memory: server RSS idle and during 10,000 list requests.

Every server is one uvicorn process pinned to CPU 0; the load generator (`wrk`, pinned to
CPU 1 with taskset) runs beside it. Each throughput figure is the median of `--repeat` runs,
the two sides of a comparison alternating. `--write-docs` rewrites the generated section of
docs/performance.md and the charts in docs/img/.
"""

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
from _harness import (  # noqa: E402
    CLIENT_CPU,
    ROOT,
    Server,
    app_server,
    fresh_database,
    machine,
    market,
    percentile,
    pin_self,
    raise_nofile,
    redis_server,
)

VIEWER_QUERY = "{ viewer { account { id } } }"
LIST_QUERY = """query List($first: Int) { meetings(role: EXPERT, upcoming: true, first: $first) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id status startsAt endsAt priceCredits
    user { id displayName } expert { id displayName } service { id title } skill { id name }
    timeline { kind label at } } } } }"""
CONFIRM = ("mutation($i: MeetingRefInput!) { confirmMeeting(input: $i) { "
           "meeting { id status version } errors { code } } }")
DECLINE = ("mutation($i: DeclineMeetingInput!) { declineMeeting(input: $i) { "
           "meeting { id status version } errors { code } } }")
BASELINE_APP = "bench.baseline:create_app"
DOC = ROOT / "docs" / "performance.md"
IMG = ROOT / "docs" / "img"
BEGIN, END = "<!-- bench/run: begin -->", "<!-- bench/run: end -->"

TARGETS = {"viewer": 0.8, "list": 0.5, "statements": 6, "mutations": 500.0, "scale": 1.5}
LIVE_KIB, LIVE_P99 = 40, 0.050
BROADCAST_P99 = 0.250


# --- wrk --------------------------------------------------------------------------------------

def _seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def _lua(path: str, bearer: str, bodies: list[str]) -> str:
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"',
             f'wrk.headers["Authorization"] = "Bearer {bearer}"']
    if len(bodies) == 1:
        lines += [f'wrk.path = "{path}"', f"wrk.body = {_lua_string(bodies[0])}"]
    else:
        lines += ["local bodies = {", *(f"  {_lua_string(b)}," for b in bodies), "}",
                  "local i = 0", "request = function()", "  i = i + 1",
                  "  if i > #bodies then i = 1 end",
                  f'  return wrk.format("POST", "{path}", nil, bodies[i])', "end"]
    return "\n".join(lines) + "\n"


def wrk(server: Server, path: str, bearer: str, bodies: list[str], *, seconds: float,
        connections: int) -> dict[str, float]:
    """Requests/s, p50 and p99 (seconds) of `wrk` against the server, pinned to CPU 1."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_lua(path, bearer, bodies))
    try:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
                   "-s", f.name, f"http://{server.base}{path}"]
        if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
            command = ["taskset", "-c", str(CLIENT_CPU), *command]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    if bad or errors:
        raise RuntimeError(f"wrk saw failures:\n{out}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "p50": _seconds(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
        "p99": _seconds(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),  # type: ignore[union-attr]
    }


def body(query: str, variables: dict[str, Any] | None = None) -> str:
    return json.dumps({"query": query, "variables": variables or {}}, separators=(",", ":"))


def post(server: Server, path: str, bearer: str, payload: str) -> dict[str, Any]:
    response = httpx.post(f"http://{server.base}{path}", content=payload, timeout=30,
                          headers={"Authorization": f"Bearer {bearer}",
                                   "Content-Type": "application/json"})
    data: dict[str, Any] = response.json()
    if data.get("errors"):
        raise RuntimeError(data["errors"])
    return data


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


# --- setup ------------------------------------------------------------------------------------

@contextlib.contextmanager
def server(url: str, redis: str, app: str = "app.asgi:create_app",
           env: dict[str, str] | None = None) -> Iterator[Server]:
    with app_server(url, redis, app=app, extra_env=env) as s:
        yield s


def document_id(query: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(query.encode()).hexdigest()


async def _markets(base: str) -> tuple[Any, Any]:
    async with httpx.AsyncClient(base_url=f"http://{base}", timeout=60) as http:
        return await market(http), await market(http)


def _pk(global_id: str) -> int:
    from schema.scalars import from_global_id

    kind = "Account"
    value = from_global_id(global_id, kind)
    assert value is not None
    return value


async def statement_counts(url: str, bearer: str) -> dict[int, tuple[int, int]]:
    """SQL statements of one list request for first 20 and 100, in-process (ASGI transport)
    with every statement the ORM's connection class sends recorded: (list, auth)."""
    from tortoise import connections

    from app.asgi import create_app
    from core import db
    from core.settings import get_settings

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    await db.init_db(url)
    counts: dict[int, tuple[int, int]] = {}
    try:
        statements: list[str] = []
        client_class = type(connections.get("default"))
        originals = {}
        for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many",
                     "execute_script", "execute_query_raw"):
            if not hasattr(client_class, name):
                continue
            originals[name] = original = getattr(client_class, name)

            async def wrapper(self: Any, query: str, *args: Any, _original: Any = original,
                              **kwargs: Any) -> Any:
                statements.append(query)
                return await _original(self, query, *args, **kwargs)

            setattr(client_class, name, wrapper)
        try:
            transport = httpx.ASGITransport(app=create_app(get_settings(), manage_db=False))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                for first in (20, 100):
                    for attempt in range(2):  # the second request: warm per-process caches
                        statements.clear()
                        r = await http.post("/graphql", content=body(LIST_QUERY, {"first": first}),
                                            headers={"Authorization": f"Bearer {bearer}",
                                                     "Content-Type": "application/json"})
                        assert not r.json().get("errors"), r.text
                        auth = sum(1 for s in statements if 'FROM "account" WHERE "key"' in s)
                        if attempt == 1:
                            counts[first] = (len(statements) - auth, auth)
        finally:
            for name, original in originals.items():
                setattr(client_class, name, original)
    finally:
        await db.close_db()
    return counts


def mutation_bodies(url: str, expert: Any, stock: int) -> tuple[list[int], list[str]]:
    """`stock` new AWAITING_APPROVAL meetings of the expert, and confirmMeeting and
    declineMeeting bodies for them, alternately (each meeting changed once)."""
    from schema.scalars import to_global_id

    ids = asyncio.run(_data.awaiting_meetings(url, _pk(expert.id), stock))
    return ids, [body(CONFIRM, {"i": {"meetingId": to_global_id("Meeting", m)}})
                 if n % 2 == 0 else
                 body(DECLINE, {"i": {"meetingId": to_global_id("Meeting", m),
                                      "reasonCode": "NOT_AVAILABLE"}})
                 for n, m in enumerate(ids)]


async def mutation_round_trips(url: str, bearer: str, meeting_ids: list[int]
                               ) -> dict[str, int]:
    """PostgreSQL round trips of one confirmMeeting and one declineMeeting, in-process, as
    tests/resolvers/test_round_trips.py counts them (every statement asyncpg sends)."""
    import asyncpg

    from app.asgi import create_app
    from core import db
    from core.settings import get_settings
    from schema.scalars import to_global_id

    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    await db.init_db(url)
    sent: list[str] = []
    inside = [False]
    connection = asyncpg.connection.Connection
    originals = {n: getattr(connection, n) for n in ("execute", "_execute", "executemany")}

    def spy(original: Any) -> Any:
        async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            outer = not inside[0]
            if outer:
                sent.append(query)
                inside[0] = True
            try:
                return await original(self, query, *args, **kwargs)
            finally:
                if outer:
                    inside[0] = False
        return counted

    counts: dict[str, int] = {}
    try:
        transport = httpx.ASGITransport(app=create_app(get_settings(), manage_db=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
            headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
            await http.post("/graphql", content=body(VIEWER_QUERY), headers=headers)
            for name, query, variables in (
                    ("confirmMeeting", CONFIRM, {"i": {"meetingId": to_global_id(
                        "Meeting", meeting_ids[0])}}),
                    ("declineMeeting", DECLINE, {"i": {"meetingId": to_global_id(
                        "Meeting", meeting_ids[1]), "reasonCode": "NOT_AVAILABLE"}})):
                for n, original in originals.items():
                    setattr(connection, n, spy(original))
                sent.clear()
                try:
                    r = await http.post("/graphql", content=body(query, variables),
                                        headers=headers)
                finally:
                    for n, original in originals.items():
                        setattr(connection, n, original)
                assert not r.json().get("errors"), r.text
                counts[name] = len(sent)
    finally:
        await db.close_db()
    return counts


async def memory(server: Server, bearer: str, total: int = 10_000,
                 concurrency: int = 16) -> list[tuple[int, int]]:
    """(requests done, server RSS KiB) every 1,000 list requests."""
    payload = body(LIST_QUERY, {"first": 20})
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    samples = [(0, server.rss_kib())]
    done = 0
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=f"http://{server.base}", timeout=60,
                                 limits=limits) as http:
        async def one() -> None:
            r = await http.post("/graphql", content=payload, headers=headers)
            r.raise_for_status()

        while done < total:
            await asyncio.gather(*(one() for _ in range(1000)))
            done += 1000
            samples.append((done, server.rss_kib()))
    return samples


# --- the run ---------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_nofile()
    pin_self(CLIENT_CPU)
    results: dict[str, Any] = {"machine": machine(), "date": datetime.now(UTC).isoformat(),
                               "repeat": args.repeat, "seconds": args.seconds}
    log = print if args.verbose else (lambda *a, **k: None)
    with fresh_database() as url, redis_server() as redis:
        with server(url, redis) as s:
            list_market, mut_market = asyncio.run(_markets(s.base))
        expert = list_market.expert
        mut_expert = mut_market.expert
        asyncio.run(_data.expert_meetings(url, _pk(expert.id), args.list_meetings))
        asyncio.run(_data.filler(url, 1000))
        results["meetings_small"] = asyncio.run(_data.count(url, "SELECT count(*) FROM meeting"))
        list_body = body(LIST_QUERY, {"first": 20})

        # The API and the reference return the same JSON for the list.
        with server(url, redis) as s:
            api_json = post(s, "/graphql", expert.token, list_body)
        with server(url, redis, BASELINE_APP) as s:
            ref_json = post(s, "/list", expert.token, list_body)
        results["same_json"] = api_json == ref_json
        if not results["same_json"]:
            print("warning: the API's and the reference's list JSON differ", file=sys.stderr)

        # 4 (small side). One connection: latency without queueing.
        with server(url, redis) as s:
            post(s, "/graphql", expert.token, list_body)
            small = [wrk(s, "/graphql", expert.token, [list_body], seconds=args.seconds,
                         connections=1) for _ in range(args.repeat)]
        results["scale_small"] = median_of(small)
        log("scale 1k", results["scale_small"])

        # 1 and 2: the two sides alternate, `repeat` times. The API serves the two queries
        # as trusted documents too (a manifest as the client preset writes it): the same
        # server answers them sent as text and named by documentId.
        # The manifest's texts are the queries printed differently, so that the text
        # requests take the path of any text (parse cache, validation) and only the
        # documentId requests the trusted one.
        viewer = body(VIEWER_QUERY)
        printed = {q: " ".join(q.split()) + " " for q in (VIEWER_QUERY, LIST_QUERY)}
        manifest = Path(tempfile.mkstemp(suffix=".json")[1])
        manifest.write_text(json.dumps({document_id(t): t for t in printed.values()}))
        viewer_trusted = json.dumps({"documentId": document_id(printed[VIEWER_QUERY]),
                                     "variables": {}})
        list_trusted = json.dumps({"documentId": document_id(printed[LIST_QUERY]),
                                   "variables": {"first": 20}})
        runs: dict[str, list[dict[str, float]]] = {k: [] for k in (
            "viewer", "viewer_ref", "list", "list_ref", "viewer_trusted", "list_trusted")}
        for _ in range(args.repeat):
            with server(url, redis, env={"TRUSTED_DOCUMENTS": str(manifest)}) as s:
                post(s, "/graphql", expert.token, viewer)
                post(s, "/graphql", expert.token, viewer_trusted)
                runs["viewer"].append(wrk(s, "/graphql", expert.token, [viewer],
                                          seconds=args.seconds, connections=args.connections))
                runs["viewer_trusted"].append(wrk(s, "/graphql", expert.token,
                                                  [viewer_trusted], seconds=args.seconds,
                                                  connections=args.connections))
                runs["list"].append(wrk(s, "/graphql", expert.token, [list_body],
                                        seconds=args.seconds, connections=args.connections))
                runs["list_trusted"].append(wrk(s, "/graphql", expert.token, [list_trusted],
                                                seconds=args.seconds,
                                                connections=args.connections))
            with server(url, redis, BASELINE_APP) as s:
                post(s, "/graphql", expert.token, viewer)
                runs["viewer_ref"].append(wrk(s, "/graphql", expert.token, [viewer],
                                              seconds=args.seconds,
                                              connections=args.connections))
                runs["list_ref"].append(wrk(s, "/list", expert.token, [list_body],
                                            seconds=args.seconds, connections=args.connections))
            log({k: v[-1] for k, v in runs.items()})
        for key, values in runs.items():
            results[key] = median_of(values)
            results[key + "_runs"] = [v["rps"] for v in values]

        results["statements"] = asyncio.run(statement_counts(url, expert.token))
        results["round_trips"] = asyncio.run(mutation_round_trips(
            url, mut_expert.token, asyncio.run(_data.awaiting_meetings(url, _pk(mut_expert.id),
                                                                       2))))

        # 5. A fresh process: RSS idle, then every 1,000 of 10,000 list requests.
        with server(url, redis) as s:
            time.sleep(1.0)
            idle = s.rss_kib()
            post(s, "/graphql", expert.token, list_body)
            results["memory"] = {"idle": idle, "first": s.rss_kib(),
                                 "samples": asyncio.run(memory(s, expert.token))}

        # 3. Confirm and decline, alternately, each on its own AWAITING_APPROVAL meeting.
        mutation_runs = []
        for _ in range(args.repeat):
            ids, bodies = mutation_bodies(url, mut_expert, args.stock)
            with server(url, redis) as s:
                started = time.monotonic()
                figures = wrk(s, "/graphql", mut_expert.token, bodies, seconds=args.seconds,
                              connections=args.connections)
                elapsed = time.monotonic() - started
            changed = asyncio.run(_data.count(
                url, "SELECT count(*) FROM meeting WHERE id = ANY($1::int[]) "
                "AND status IN ('AGREED', 'REJECTED')", ids))
            if changed < figures["requests"] * 0.99:
                raise RuntimeError(f"only {changed} of {figures['requests']} mutations changed "
                                   "their meeting (stock too small, or errors)")
            figures["changed"] = changed
            figures["elapsed"] = elapsed
            mutation_runs.append(figures)
            log("mutations", figures)
        results["mutations"] = median_of(mutation_runs)
        results["mutations_runs"] = [r["rps"] for r in mutation_runs]

        # 6. Idle browser-like live connections (bench/live_connections.py), fresh servers.
        if args.live_sizes:
            import live_connections

            sizes = [int(n) for n in args.live_sizes.split(",")]
            ids = asyncio.run(live_connections.accounts(url, max(sizes)))
            tokens = [live_connections.token(f"live-{i}") for i in range(max(sizes))]
            results["live"] = []
            for size in sizes:
                with server(url, redis) as s:
                    results["live"].append(asyncio.run(live_connections.measure(
                        s, redis, url, ids[:size], tokens[:size], args.live_rate, 10.0)))
                log("live", results["live"][-1])

        # 7. One event broadcast to every subscriber of one meeting (bench/fanout.py).
        if args.broadcast_sizes:
            results["broadcast"] = []
            for size in [int(n) for n in args.broadcast_sizes.split(",")]:
                with server(url, redis) as s:
                    results["broadcast"].append(asyncio.run(
                        broadcast(s, redis, size, args.broadcast_events)))
                log("broadcast", results["broadcast"][-1])

        # 4 (large side).
        if args.large:
            results["fill_seconds"] = asyncio.run(_data.filler(url, args.large))
            results["meetings_large"] = asyncio.run(
                _data.count(url, "SELECT count(*) FROM meeting"))
            with server(url, redis) as s:
                post(s, "/graphql", expert.token, list_body)
                large = [wrk(s, "/graphql", expert.token, [list_body], seconds=args.seconds,
                             connections=1) for _ in range(args.repeat)]
                results["list_large"] = wrk(s, "/graphql", expert.token, [list_body],
                                            seconds=args.seconds, connections=args.connections)
            results["scale_large"] = median_of(large)
            # For the record: the same figure without migration 0003's timeline index.
            asyncio.run(_data.execute(url, "DROP INDEX IF EXISTS timeline_meeting"))
            with server(url, redis) as s:
                post(s, "/graphql", expert.token, list_body)
                results["scale_large_noindex"] = wrk(s, "/graphql", expert.token, [list_body],
                                                     seconds=args.seconds, connections=1)
    return results


async def broadcast(s: Server, redis: str, size: int, events: int) -> dict[str, Any]:
    """bench/fanout.py's figure: `size` subscribers of one meeting (half its user, half its
    expert), one change at a time, latency from the mutation's response to each arrival."""
    import fanout

    async with httpx.AsyncClient(base_url=f"http://{s.base}", timeout=30) as http:
        m = await market(http)
    r = await fanout.run_size(s, redis, m, fanout.Stepper(m), size, events, 250)
    return {"subscribers": size, "connected": r.connected, "events": events,
            "p50": percentile(r.latencies, 50), "p99": percentile(r.latencies, 99),
            "missing": r.missing,
            "server_cpu_ms_per_event": 1000 * statistics.median(r.server_cpu_per_event)}


# --- output ----------------------------------------------------------------------------------

def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def table(r: dict[str, Any]) -> str:
    v, vr, li, lr = r["viewer"], r["viewer_ref"], r["list"], r["list_ref"]
    st = r["statements"]
    mem = r["memory"]
    rss_2k = dict(mem["samples"])[2000]
    rss_10k = mem["samples"][-1][1]
    rows = [
        ("1. `viewer { account { id } }` requests/s", f"{v['rps']:,.0f}",
         f"{vr['rps']:,.0f} (bare graphql-core)", f"{v['rps'] / vr['rps']:.2f}×",
         f"≥ {TARGETS['viewer']}×", _met(v["rps"] / vr["rps"] >= TARGETS["viewer"])),
        ("2. meeting list (first 20) requests/s", f"{li['rps']:,.0f}",
         f"{lr['rps']:,.0f} (asyncpg, hand-written)", f"{li['rps'] / lr['rps']:.2f}×",
         f"≥ {TARGETS['list']}×", _met(li["rps"] / lr["rps"] >= TARGETS["list"])),
        ("2. meeting list p50 / p99 under load (ms)", f"{_ms(li['p50'])} / {_ms(li['p99'])}",
         f"{_ms(lr['p50'])} / {_ms(lr['p99'])}",
         f"{li['p50'] / lr['p50']:.2f}× / {li['p99'] / lr['p99']:.2f}×", "", ""),
        ("2. SQL statements per list request, first 20 / first 100",
         f"{st[20][0]} / {st[100][0]} (+{st[20][1]} auth)", "6 / 6 (reference)",
         "equal" if st[20][0] == st[100][0] else "differ", f"equal, ≤ {TARGETS['statements']}",
         _met(st[20][0] == st[100][0] and st[100][0] <= TARGETS["statements"])),
        ("1. the same, trusted document (`documentId`) requests/s",
         f"{r['viewer_trusted']['rps']:,.0f}", f"{vr['rps']:,.0f}",
         f"{r['viewer_trusted']['rps'] / vr['rps']:.2f}× "
         f"({r['viewer_trusted']['rps'] / v['rps']:.2f}× the text)",
         f"≥ {TARGETS['viewer']}×",
         _met(r["viewer_trusted"]["rps"] / vr["rps"] >= TARGETS["viewer"])),
        ("2. the same list, trusted document (`documentId`) requests/s",
         f"{r['list_trusted']['rps']:,.0f}", f"{lr['rps']:,.0f}",
         f"{r['list_trusted']['rps'] / lr['rps']:.2f}× "
         f"({r['list_trusted']['rps'] / li['rps']:.2f}× the text)",
         f"≥ {TARGETS['list']}×", _met(r["list_trusted"]["rps"] / lr["rps"] >= TARGETS["list"])),
        ("3. PostgreSQL round trips per confirmMeeting / declineMeeting",
         f"{r['round_trips']['confirmMeeting']} / {r['round_trips']['declineMeeting']}",
         "—", "", "fewer", ""),
        ("3. confirmMeeting + declineMeeting per second", f"{r['mutations']['rps']:,.0f}",
         "—", f"{r['mutations']['rps'] / TARGETS['mutations']:.2f}× target",
         f"≥ {TARGETS['mutations']:.0f}/s", _met(r["mutations"]["rps"] >= TARGETS["mutations"])),
    ]
    if "scale_large" in r:
        ratio = r["scale_large"]["p50"] / r["scale_small"]["p50"]
        rows.append((f"4. list p50, one connection: {r['meetings_large']:,} vs "
                     f"{r['meetings_small']:,} meetings (ms)", _ms(r["scale_large"]["p50"]),
                     _ms(r["scale_small"]["p50"]), f"{ratio:.2f}×",
                     f"≤ {TARGETS['scale']}×", _met(ratio <= TARGETS["scale"])))
        if "scale_large_noindex" in r:
            slow = r["scale_large_noindex"]["p50"]
            rows.append(("4. (the same at 1,000,000 without the timeline index, 1 run)",
                         _ms(slow), _ms(r["scale_small"]["p50"]),
                         f"{slow / r['scale_small']['p50']:.2f}×", "", ""))
    rows.append(("5. server RSS: idle / after 2,000 / after 10,000 list requests (MiB)",
                 f"{mem['idle'] / 1024:.1f} / {rss_2k / 1024:.1f} / {rss_10k / 1024:.1f}",
                 "—", f"+{(rss_10k - rss_2k) / 1024:.1f} MiB from 2k to 10k",
                 "no growth beyond caches", _met(rss_10k - rss_2k < 4096)))
    for live in r.get("live", []):
        n = live["connections"]
        rows.append((f"6. RSS per idle live connection at {n:,} (deflate negotiated: "
                     f"{live['deflate_negotiated']:,}) (KiB)", f"{live['kib_per_connection']:.1f}",
                     "—", "", f"≤ {LIVE_KIB} KiB", _met(live["kib_per_connection"] <= LIVE_KIB)))
        rows.append((f"6. targeted delivery among {n:,}, {live['events'] // 10:,} events/s to "
                     f"2 parties: p50 / p99 (ms), arrived", f"{_ms(live['p50'])} / "
                     f"{_ms(live['p99'])}, {live['arrivals']:,} / {live['expected']:,}", "—",
                     "", f"p99 ≤ {LIVE_P99 * 1000:.0f} ms" if n >= 10000 else "",
                     _met(live["p99"] <= LIVE_P99) if n >= 10000 else ""))
    for b in r.get("broadcast", []):
        n = b["subscribers"]
        rows.append((f"7. one event broadcast to {n:,} subscribers of one meeting: p50 / p99 "
                     f"(ms), missing; server CPU per event (ms)",
                     f"{_ms(b['p50'])} / {_ms(b['p99'])}, {b['missing']:,}; "
                     f"{b['server_cpu_ms_per_event']:.0f}", "—", "",
                     f"p99 ≤ {BROADCAST_P99 * 1000:.0f} ms" if n >= 5000 else "",
                     _met(b["p99"] <= BROADCAST_P99) if n >= 5000 else ""))
    lines = ["| Figure | API | Reference | Ratio | Target | |", "|---|---:|---:|---:|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    runs = (f"Runs (requests/s): viewer {r['viewer_runs']}, reference {r['viewer_runs_ref']}; "
            f"list {r['list_runs']}, reference {r['list_runs_ref']}; mutations "
            f"{r['mutations_runs']}.") if "viewer_runs_ref" in r else ""
    return "\n".join(lines) + ("\n\n" + runs if runs else "")


def charts(r: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMG.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    pairs = [("viewer query", r["viewer"]["rps"], r["viewer_ref"]["rps"], "bare graphql-core"),
             ("meeting list (20)", r["list"]["rps"], r["list_ref"]["rps"], "asyncpg by hand")]
    for ax, (title, api, ref, label) in zip(axes[:2], pairs, strict=True):
        ax.bar(["API", label], [api, ref], color=["#3b6ea8", "#a0a0a0"])
        ax.set_title(f"{title}: {api / ref:.2f}×")
        ax.set_ylabel("requests/s")
    ax = axes[2]
    ax.bar(["confirm + decline"], [r["mutations"]["rps"]], color="#3b6ea8")
    ax.axhline(TARGETS["mutations"], color="#c04040", linestyle="--", label="target 500/s")
    ax.set_title("mutations per second")
    ax.legend()
    fig.tight_layout()
    throughput = IMG / "bench-throughput.png"
    fig.savefig(throughput, dpi=100)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    ax = axes[0]
    labels = ["list p50\n(load)", "list p99\n(load)"]
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], [r["list"]["p50"] * 1e3, r["list"]["p99"] * 1e3], 0.4,
           label="API", color="#3b6ea8")
    ax.bar([i + 0.2 for i in x], [r["list_ref"]["p50"] * 1e3, r["list_ref"]["p99"] * 1e3], 0.4,
           label="asyncpg by hand", color="#a0a0a0")
    if "scale_large" in r:
        ax.bar([2 - 0.2], [r["scale_small"]["p50"] * 1e3], 0.4, color="#7fa7d4",
               label=f"{r['meetings_small']:,} meetings")
        ax.bar([2 + 0.2], [r["scale_large"]["p50"] * 1e3], 0.4, color="#1f3f66",
               label=f"{r['meetings_large']:,} meetings")
        labels.append("list p50\n(1 connection)")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("ms")
    ax.set_title("latency")
    ax.legend(fontsize=7)
    ax = axes[1]
    samples = r["memory"]["samples"]
    ax.plot([n for n, _ in samples], [kib / 1024 for _, kib in samples], marker="o")
    ax.axhline(r["memory"]["idle"] / 1024, color="#a0a0a0", linestyle="--", label="idle")
    ax.set_xlabel("list requests served")
    ax.set_ylabel("server RSS (MiB)")
    ax.set_title("memory")
    ax.set_ylim(bottom=0)
    ax.legend()
    fig.tight_layout()
    latency = IMG / "bench-latency-memory.png"
    fig.savefig(latency, dpi=100)
    plt.close(fig)
    return [str(p.relative_to(ROOT / "docs")) for p in (throughput, latency)]


def write_docs(r: dict[str, Any], images: list[str]) -> None:
    section = "\n".join([
        BEGIN,
        f"Last `bench/run`: {r['date'][:16]} UTC, {r['machine']}. Medians of {r['repeat']} "
        f"runs of {r['seconds']:g} s each (wrk, one thread, "
        f"{r.get('connections', '')} connections unless said).",
        "",
        table(r),
        "",
        *(f"![{Path(i).stem}]({i})" for i in images),
        END,
    ])
    text = DOC.read_text()
    if BEGIN in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## API throughput, latency and memory\n\n" + section + "\n"
    DOC.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--list-meetings", type=int, default=300,
                        help="upcoming meetings of the listed expert")
    parser.add_argument("--stock", type=int, default=15000,
                        help="AWAITING_APPROVAL meetings per mutation run")
    parser.add_argument("--large", type=int, default=1_000_000,
                        help="meetings for the scale figure (0: skip)")
    parser.add_argument("--live-sizes", default="1000,5000,10000",
                        help="idle live connections per run of the live figure ('' skips)")
    parser.add_argument("--live-rate", type=int, default=200,
                        help="targeted events per second among the live connections")
    parser.add_argument("--broadcast-sizes", default="5000",
                        help="subscribers of one meeting per run of the broadcast figure "
                             "('' skips)")
    parser.add_argument("--broadcast-events", type=int, default=5,
                        help="measured changes per broadcast run (after one warm-up)")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--json", help="also write the raw figures here")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("needs wrk: apt-get install -y wrk")
    results = run(args)
    results["connections"] = args.connections
    for key in ("viewer", "list"):
        results[f"{key}_runs_ref"] = results.pop(f"{key}_ref_runs")
    results.pop("viewer_trusted_runs", None)
    results.pop("list_trusted_runs", None)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if args.write_docs:
        write_docs(results, charts(results))
        print(f"wrote {DOC.relative_to(ROOT)} and {IMG.relative_to(ROOT)}/bench-*.png")


if __name__ == "__main__":
    main()
