"""The layers point one way (README "Layout"): app → schema → resolvers → models, with core
below everything; subscriptions/ and workers/ beside them. An import against the direction
fails here, wherever in a module it is written (lazy imports included)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "models", "resolvers", "schema", "subscriptions", "workers", "app",
            "migrations")

# What each package may import of the project (besides itself).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "models": {"core"},
    "resolvers": {"core", "models"},
    "subscriptions": {"core", "models"},
    "schema": {"core", "models", "resolvers", "subscriptions"},
    "workers": {"core", "models", "resolvers"},
    "app": {"core", "models", "resolvers", "schema", "subscriptions", "workers"},
    "migrations": set(),  # frozen: enum values are written out, never imported
}
# GraphQL lives in schema/ and app/ only (resolvers may batch with Strawberry's DataLoader).
GRAPHQL = ("strawberry", "graphql")
GRAPHQL_ALLOWED = {"schema", "app"}
GRAPHQL_EXCEPTIONS = {"strawberry.dataloader"}
# Workers call the application's public functions for the system's own work, nothing else
# of resolvers/ (not effects, outbox, access or context: those are its internals).
WORKER_FACING = {"resolvers.system", "resolvers.busy_calendars"}


def _imports(path: Path) -> list[tuple[str, int]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from tests import x` names the module tests.x
            found += [(f"{node.module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(ROOT).parts[0], p) for package in PACKAGES
            for p in sorted((ROOT / package).rglob("*.py"))]


def violations() -> list[str]:
    wrong = []
    for package, path in _modules():
        for name, line in _imports(path):
            top = name.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line} imports {name}"
            if top in PACKAGES and top != package and top not in ALLOWED[package]:
                wrong.append(f"{where} ({package} may import {sorted(ALLOWED[package])})")
            if package == "workers" and top == "resolvers" and not (
                    any(name == m or name.startswith(f"{m}.") for m in WORKER_FACING)
                    and not name.rsplit(".", 1)[-1].startswith("_")):
                wrong.append(f"{where} (workers call {sorted(WORKER_FACING)} only)")
            if (top in GRAPHQL and package not in GRAPHQL_ALLOWED
                    and not any(name.startswith(e) for e in GRAPHQL_EXCEPTIONS)):
                wrong.append(f"{where} (GraphQL belongs to schema/ and app/)")
    return wrong


def test_every_import_points_down() -> None:
    assert violations() == []


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from schema.types import Meeting\n    import app.cli\n")
    assert [name for name, _ in _imports(module)] == ["schema.types.Meeting", "app.cli"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_is_walked(package: str) -> None:
    assert any(p == package for p, _ in _modules())


def test_tests_share_helpers_only_through_tests_support() -> None:
    # Test modules and conftest files never import from each other: what they share is
    # tests/support/ (and bench/ reuses it).
    wrong = []
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        if "node_modules" in path.parts:
            continue
        for name, line in _imports(path):
            if name.startswith("tests.") and not name.startswith("tests.support"):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []
