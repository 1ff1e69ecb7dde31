"""graphql-http's GraphQL-over-HTTP server audits (npm `graphql-http`, pinned in
package-lock.json) against a live production server: every MUST and SHOULD audit ok, and no
answer carries exception text. The audits' requests carry a token (production refuses
anonymous ones before parsing) and the server has introspection on, because one MUST audit
queries `__type`. Skipped only when npm is absent."""

import json
import re
import shutil
import subprocess
from pathlib import Path

from tests.support.live import server
from tests.support.node import npm_ci
from tests.support.security import SECRET, settings_with, token

HERE = Path(__file__).resolve().parent
EXCEPTION_TEXT = re.compile(r"Traceback|unhashable|object has no attribute|NoneType|"
                            r"Unexpected server error|Internal Server Error")


def test_graphql_over_http_audits_pass(orm: str, tmp_path: Path) -> None:
    npm_ci(HERE)
    node = shutil.which("node")
    assert node is not None
    bearer = token(settings_with(jwt_secret=SECRET))
    settings = {"ENVIRONMENT": "production", "JWT_SECRET": SECRET, "INTROSPECTION": "true"}
    with server(orm, settings=settings, log=tmp_path / "server.log") as base:
        run = subprocess.run([node, "audit.mjs", f"http://{base}/graphql", bearer], cwd=HERE,
                             capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(results) > 40, run.stdout  # the suite ran whole
    required = [r for r in results if r["name"].startswith(("MUST", "SHOULD"))]
    failing = [f"{r['id']} {r['name']}: {r.get('reason')}" for r in required
               if r["status"] != "ok"]
    assert not failing, "\n".join(failing)
    leaking = [r["id"] for r in results if EXCEPTION_TEXT.search(r.get("body") or "")]
    assert not leaking, leaking
