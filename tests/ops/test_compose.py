"""compose.yaml, parsed by Docker Compose itself (`config` needs no Docker engine), and the
Dockerfile's shape."""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose_command() -> list[str]:
    """`docker compose` (the v2 plugin), else the standalone `docker-compose`."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
    if probe.returncode == 0:
        return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    return [standalone]


def _config(**env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("JWT_SECRET", "DATABASE_URL", "REDIS_URL")}
    return subprocess.run([*_compose_command(), "-f", "compose.yaml", "config"], cwd=ROOT,
                          env={**environment, **env}, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    result = _config(JWT_SECRET="compose-test-secret")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]  # type: ignore[no-any-return]


def test_the_stack_has_its_services(services: dict[str, Any]) -> None:
    assert {"api", "worker", "postgres", "redis", "migrate"} <= set(services)
    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"


def test_databases_have_health_checks(services: dict[str, Any]) -> None:
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])


def test_the_api_checks_its_health_on_healthz(services: dict[str, Any]) -> None:
    check = " ".join(services["api"]["healthcheck"]["test"])
    assert "/healthz" in check and ":8000" in check


def test_migrations_run_before_the_api_and_the_worker(services: dict[str, Any]) -> None:
    assert services["migrate"]["command"] == ["meetings", "migrate"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_processes_and_settings(services: dict[str, Any]) -> None:
    api = " ".join(services["api"]["command"])
    assert api.startswith("uvicorn app.asgi:create_app --factory --host 0.0.0.0 --port 8000")
    assert services["worker"]["command"] == ["meetings", "worker"]
    for name in ("api", "worker", "migrate"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env[
            "DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["JWT_SECRET"] == "compose-test-secret"
        assert env["ENVIRONMENT"] == "production"


def test_jwt_secret_is_required() -> None:
    result = _config()
    assert result.returncode != 0
    assert "JWT_SECRET" in result.stderr


def test_the_image_is_multi_stage_slim_and_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) >= 2 and stages[-1] == "python:3.11-slim"
    assert "COPY --from=builder /opt/venv /opt/venv" in dockerfile
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".env", "**/node_modules"} <= set(ignored)
