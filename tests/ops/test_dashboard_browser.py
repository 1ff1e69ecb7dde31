"""examples/dashboard in Debian's headless Chromium: the Playwright suite
(examples/dashboard/tests/dashboard.spec.ts) drives the expert and the user side by side
against a real API on the embedded default (a fresh SQLite file seeded by `meetings demo`,
running only the build's trusted documents), and checks that a production API offers no
demo sign-in. Screenshots go to docs/img/ with
MEETINGS_SCREENSHOT=1 (else to a temporary directory, so a run leaves the tree clean).

It runs in the SQLite pass only: the dashboard targets the embedded default, and the
PostgreSQL pass adds nothing the browser could see."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from app.auth import make_token
from app.seed import DEMO_USER
from core.settings import get_settings
from tests.support.backend import BACKEND
from tests.support.live import server
from tests.support.node import NPM, npm_ci
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "examples" / "dashboard"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium: apt-get install -y chromium"),
    pytest.mark.skipif(BACKEND != "sqlite", reason="the dashboard runs on the embedded default"),
]


def _run(args: list[str], env: dict[str, str] | None = None, timeout: float = 300
         ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=DASHBOARD, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_dashboard_in_chromium(tmp_path: Path) -> None:
    npm_ci(DASHBOARD)
    assert NPM is not None
    _run([NPM, "run", "--silent", "build"])  # codegen from schema.graphql, tsc, vite build

    database = f"sqlite://{tmp_path / 'dashboard.sqlite3'}"
    development = {"ENVIRONMENT": "development", "DATABASE_URL": database}
    for variable in ("REDIS_URL", "GRAPHIQL", "INTROSPECTION", "CORS_ORIGINS", "JWT_JWKS_URL"):
        development[variable] = ""
    env = {k: v for k, v in {**os.environ, **development}.items() if v != ""}
    meetings = str(Path(sys.executable).parent / "meetings")
    seed = subprocess.run([meetings, "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert seed.returncode == 0 and "demo data created" in seed.stdout, seed.stdout + seed.stderr
    production_db = f"sqlite://{tmp_path / 'production.sqlite3'}"
    migrate = subprocess.run([meetings, "migrate"], cwd=ROOT, capture_output=True, text=True,
                             env={**env, "DATABASE_URL": production_db}, timeout=120)
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    shots = (ROOT / "docs" / "img" if os.environ.get("MEETINGS_SCREENSHOT")
             else Path(tempfile.mkdtemp(prefix="dashboard-shots-")))
    production = {"ENVIRONMENT": "production",
                  "JWT_SECRET": "a-production-secret-for-the-dashboard-test"}
    # Only the build's own operations run (TRUSTED_DOCUMENTS_ONLY): the dashboard sends hashes
    # over HTTP and manifest texts over the WebSocket, and nothing else.
    trusted = {"ENVIRONMENT": "development",
               "TRUSTED_DOCUMENTS": str(DASHBOARD / "src" / "gql" / "persisted-documents.json"),
               "TRUSTED_DOCUMENTS_ONLY": "true"}
    with server(database, settings=trusted) as dev_api, \
            server(production_db, settings=production) as prod_api:
        # The mode is on: a text that is not one of the build's documents does not run.
        token = make_token(get_settings(), DEMO_USER[0], name=DEMO_USER[1])
        refused = httpx.post(f"http://{dev_api}/graphql", json={"query": "{ viewer { isAdmin } }"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert refused.status_code == 400, refused.text
        assert "TRUSTED_DOCUMENT_REQUIRED" in refused.text
        run_env = {**os.environ, "DEV_API": f"http://{dev_api}", "PROD_API": f"http://{prod_api}",
                   "DASHBOARD_PORT": str(free_port()), "DASHBOARD_PROD_PORT": str(free_port()),
                   "SCREENSHOT_DIR": str(shots), "CHROMIUM": str(CHROMIUM),
                   "PLAYWRIGHT_OUTPUT": str(tmp_path / "playwright"),
                   "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
        result = subprocess.run([NPM, "run", "--silent", "e2e"], cwd=DASHBOARD, env=run_env,
                                capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert " 10 passed" in output, output
    for screen in ("signin", "sessions", "book", "details", "confirm-dialog", "decline-dialog",
                   "late-cancel-dialog", "details-alternative", "propose-dialog", "chat",
                   "notifications", "free-dates"):
        assert (shots / f"dashboard-{screen}.png").stat().st_size > 10_000, screen
