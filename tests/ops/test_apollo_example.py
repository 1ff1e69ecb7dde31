"""examples/apollo-client against a real server: codegen from schema.graphql, type-check,
then the script logs in as the demo expert, lists upcoming meetings, subscribes to
meetingChanged, confirms the meeting that awaits the expert and prints the live event."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from app.auth import make_token
from app.seed import DEMO_EXPERT
from core.settings import get_settings
from tests.support.live import server
from tests.support.node import NPM, npm_ci

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "apollo-client"


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
         ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_apollo_client_example_confirms_and_sees_the_live_event(orm: str,
                                                                tmp_path: Path) -> None:
    npm_ci(EXAMPLE)
    assert NPM is not None
    _run([NPM, "run", "--silent", "codegen"], EXAMPLE)
    assert (EXAMPLE / "src" / "__generated__" / "types.ts").exists()
    # The client preset's trusted-documents manifest: SHA-256 → text, one per operation.
    manifest_path = EXAMPLE / "src" / "__generated__" / "client" / "persisted-documents.json"
    manifest = json.loads(manifest_path.read_text())
    assert len(manifest) == 3
    for key, text in manifest.items():
        assert key == "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    _run([NPM, "run", "--silent", "typecheck"], EXAMPLE)

    # The demo data set: the demo expert has one upcoming meeting awaiting confirmation.
    seed = _run([str(Path(sys.executable).parent / "meetings"), "demo"], ROOT,
                env={**os.environ, "DATABASE_URL": orm})
    assert "demo data created" in seed.stdout
    token = make_token(get_settings(), DEMO_EXPERT[0], name=DEMO_EXPERT[1])

    # The server runs nothing but the manifest's documents: every operation of the script
    # (queries by GET with the hash only, the mutation by POST, the subscription's text over
    # the WebSocket) has to be one of them.
    access_log = tmp_path / "access.log"
    with server(orm, settings={"TRUSTED_DOCUMENTS": str(manifest_path),
                               "TRUSTED_DOCUMENTS_ONLY": "true"}, log=access_log) as base:
        env = {**os.environ, "API_URL": f"http://{base}/graphql", "EXPERT_TOKEN": token,
               "TIMEOUT_MS": "15000"}
        result = subprocess.run([NPM, "start", "--silent"], cwd=EXAMPLE, env=env,
                                capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "signed in as Erika Expert" in output
    assert "AWAITING_APPROVAL" in output
    assert "live event: APPROVED_BY_EXPERT" in output, output
    assert "is now AGREED" in output
    assert "retried with the same Idempotency-Key: same answer" in output, output
    requests = access_log.read_text()
    # Access lines name a GET's parameters, not their values: the hash-only GETs send
    # `extensions` (the persisted query's hash) and no `query`.
    hash_only = [line for line in requests.splitlines() if '"GET /graphql?' in line
                 and "extensions" in line and not re.search(r"[?&]query[& ]", line)]
    assert hash_only, requests[-2000:]
