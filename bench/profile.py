"""Profile the API server under one of bench/run's loads with py-spy (the `bench` extra).

    .venv/bin/python bench/profile.py [--load list|viewer|mutations] [--seconds 10]
                                      [--out FILE] [--top 40]

Starts the same fresh database, redis-server and pinned uvicorn process as `bench/run`,
drives it with wrk (CPU 1), records the server with `py-spy record -f raw` meanwhile and
prints the functions with the largest inclusive and self shares of the samples, plus the
requests/s of the run (which py-spy's sampling slows a little)."""

import argparse
import asyncio
import collections
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _data  # noqa: E402
import suite  # noqa: E402
from _harness import (  # noqa: E402
    CLIENT_CPU,
    cpu_seconds,
    fresh_database,
    pin_self,
    raise_nofile,
    redis_server,
)


def summarise(raw: Path, top: int) -> str:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        # One entry per function, not per line: "name (file.py:12)" -> "name (file.py)".
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    out = [f"{total} samples", "", "inclusive %  function"]
    # The frames every sample shares (the event loop, uvicorn's entry point) say nothing.
    shown = [(f, n) for f, n in inclusive.most_common() if n < 0.97 * total][:top]
    out += [f"{100 * n / total:6.1f}  {f}" for f, n in shown]
    out += ["", "self %  function"]
    out += [f"{100 * n / total:6.1f}  {f}" for f, n in own.most_common(top)]
    return "\n".join(out)


def compare(args: argparse.Namespace, url: str, redis: str, bearer: str,
            bodies: Callable[[], list[str]], extra_env: dict[str, str]) -> None:
    """Requests/s and the server's CPU time per request (utime + stime from /proc, steadier
    than requests/s on a shared machine) of two factories, alternately. Mutations get new
    meetings for every run."""
    runs: dict[str, list[tuple[float, float]]] = {args.app: [], args.against: []}
    for _ in range(args.repeat):
        for app in runs:
            with suite.app_server(url, redis, app=app, extra_env=extra_env) as s:
                warm_up = bodies()
                suite.post(s, "/graphql", bearer, warm_up[0])
                suite.wrk(s, "/graphql", bearer, warm_up, seconds=2,
                          connections=args.connections)
                before = cpu_seconds(s.pid)
                figures = suite.wrk(s, "/graphql", bearer, bodies(), seconds=args.seconds,
                                    connections=args.connections)
                runs[app].append((figures["rps"],
                                  (cpu_seconds(s.pid) - before) / max(figures["requests"], 1)))
    for app, values in runs.items():
        print(f"{args.load} {app}: median {statistics.median(v[0] for v in values):.0f} "
              f"requests/s {[round(v[0]) for v in values]}, server CPU "
              f"{statistics.median(v[1] for v in values) * 1000:.3f} ms per request "
              f"{[round(v[1] * 1000, 3) for v in values]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--load", choices=("list", "viewer", "mutations"), default="list")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--app", default="app.asgi:create_app", help="the server's factory")
    parser.add_argument("--against", default=None, metavar="APP",
                        help="no profile: requests/s of --app and of this factory, "
                             "alternating --repeat times (e.g. bench.variants:default_executor)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--env", action="append", default=[],
                        help="NAME=VALUE for the server (repeatable)")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    raise_nofile()
    pin_self(CLIENT_CPU)
    extra_env = dict(e.split("=", 1) for e in args.env)
    with fresh_database() as url, redis_server() as redis:
        with suite.app_server(url, redis) as s:
            list_market, mut_market = asyncio.run(suite._markets(s.base))
        expert = list_market.expert
        asyncio.run(_data.expert_meetings(url, suite._pk(expert.id), 300))
        asyncio.run(_data.filler(url, 1000))
        bearer = expert.token
        if args.load == "list":
            bodies = [suite.body(suite.LIST_QUERY, {"first": 20})]
        elif args.load == "viewer":
            bodies = [suite.body(suite.VIEWER_QUERY)]
        else:
            bearer = mut_market.expert.token
            bodies = suite.mutation_bodies(url, mut_market.expert, int(args.seconds * 800))[1]
        if args.against:
            compare(args, url, redis, bearer, (
                (lambda: suite.mutation_bodies(url, mut_market.expert,
                                               int(args.seconds * 800))[1])
                if args.load == "mutations" else lambda: bodies), extra_env)
            return
        with suite.app_server(url, redis, app=args.app, extra_env=extra_env) as s:
            if args.load != "mutations":
                suite.post(s, "/graphql", bearer, bodies[0])
                suite.wrk(s, "/graphql", bearer, bodies, seconds=2,
                          connections=args.connections)  # warm-up
            raw = args.out or Path(tempfile.mkstemp(suffix=".txt")[1])
            spy = subprocess.Popen([py_spy, "record", "-r", "200", "-f", "raw", "-o", str(raw),
                                    "-p", str(s.pid), "-d", str(int(args.seconds) + 1)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            figures = suite.wrk(s, "/graphql", bearer, bodies, seconds=args.seconds,
                                connections=args.connections)
            spy.wait()
    print(f"{args.load}: {figures['rps']:.0f} requests/s under py-spy "
          f"(p50 {figures['p50'] * 1000:.1f} ms)")
    print(summarise(raw, args.top))


if __name__ == "__main__":
    main()
