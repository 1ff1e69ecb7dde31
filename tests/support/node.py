"""Node.js helpers for the ops tests: find npm, install a package's locked dependencies once."""

import shutil
import subprocess
from pathlib import Path

import pytest

NPM = shutil.which("npm")


def npm_ci(project: Path) -> None:
    """`npm ci` unless node_modules already matches the lock file (it is kept between runs)."""
    if NPM is None:
        pytest.skip("npm is not installed")
    marker = project / "node_modules" / ".package-lock.json"
    lock = project / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    result = subprocess.run([NPM, "ci", "--no-audit", "--no-fund"], cwd=project,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
