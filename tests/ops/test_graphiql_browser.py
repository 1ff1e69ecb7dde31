"""GraphiQL in a real browser: Debian's headless Chromium (driven by playwright-core) opens
the development server's /graphql page, types a query and the Authorization header into
GraphiQL, runs it and checks the answer; the screenshot goes to docs/img/graphiql.png.

Strawberry's GraphiQL page loads its JavaScript and CSS from unpkg.com. There is no CDN here,
so tests/ops/browser/graphiql.mjs answers exactly those requests from the npm packages of
the same versions (byte-identical: the page's SRI hashes verify them) and blocks every other
outside request."""

import json
import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from app.auth import make_token
from core.settings import get_settings
from tests.support.live import server
from tests.support.node import NPM, npm_ci

ROOT = Path(__file__).resolve().parents[2]
BROWSER = Path(__file__).resolve().parent / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# The checked-in picture is refreshed on request only, so a test run leaves the tree clean.
SCREENSHOT = (ROOT / "docs" / "img" / "graphiql.png" if os.environ.get("MEETINGS_SCREENSHOT")
              else Path(tempfile.gettempdir()) / f"graphiql-{os.getpid()}.png")
QUERY = """# Authorization: Bearer <token> is set in the Headers tab below.
{
  viewer {
    account { displayName timezone }
    credits { available blocked }
    isAdmin
  }
  reasons(kind: CANCELLATION) { code label }
}
"""

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(),
                                reason="needs Debian's chromium: apt-get install -y chromium")


def test_graphiql_runs_an_authenticated_query_in_chromium(
        orm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    npm_ci(BROWSER)
    assert NPM is not None
    name = f"GraphiQL Tester {uuid.uuid4().hex[:6]}"
    token = make_token(get_settings(), f"graphiql-{uuid.uuid4().hex[:12]}", name=name)
    monkeypatch.setenv("ENVIRONMENT", "development")  # GraphiQL is on in development only
    for variable in ("GRAPHIQL", "INTROSPECTION"):
        monkeypatch.delenv(variable, raising=False)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)

    with server(orm) as base:
        env = {**os.environ, "GRAPHIQL_URL": f"http://{base}/graphql", "TOKEN": token,
               "SCREENSHOT": str(SCREENSHOT), "QUERY": QUERY, "CHROMIUM": str(CHROMIUM)}
        result = subprocess.run(["node", "graphiql.mjs"], cwd=BROWSER, env=env,
                                capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])

    assert report["result"].get("errors") is None, report["result"]
    viewer = report["result"]["data"]["viewer"]
    assert viewer["account"]["displayName"] == name
    assert viewer["credits"] == {"available": 0, "blocked": 0}
    assert viewer["isAdmin"] is False
    codes = {reason["code"] for reason in report["result"]["data"]["reasons"]}
    assert "SCHEDULE_CONFLICT" in codes
    # The query went out with the token typed into GraphiQL's Headers tab.
    assert report["authorization"] == [f"Bearer {token}"]
    # Every asset the page asked for was one of the pinned npm packages; nothing else left.
    assert len(report["served"]) == 7 and report["blocked"] == []
    assert report["pageErrors"] == []
    assert SCREENSHOT.stat().st_size > 10_000
