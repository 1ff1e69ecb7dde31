"""Guards against drift that nothing else would notice: the API contract, the migrations,
and the texts every enum member needs at run time."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from graphql import build_schema, find_breaking_changes

from app.schema import schema
from models.enums import NotificationKind, TimelineEventKind
from models.lifecycle import LABELS, RULES
from models.texts import BODIES, TITLES, render

ROOT = Path(__file__).resolve().parents[2]
# A copy of the agreed contract (the shared one is not part of a clone): the exported schema
# may add to it, never remove, rename or narrow.
CONTRACT = [ROOT / "tests" / "contract" / "schema.graphql",
            ROOT / "tests" / "contract" / "calendars.graphql"]


def test_the_schema_keeps_the_contract() -> None:
    contract = build_schema("\n".join(p.read_text() for p in CONTRACT))
    changes = find_breaking_changes(contract, build_schema(schema.as_str()))
    assert [f"{c.type.name}: {c.description}" for c in changes] == []


def test_the_contract_check_sees_a_removed_field() -> None:
    contract = build_schema("type Query { a: Int b: String }")
    changes = find_breaking_changes(contract, build_schema("type Query { a: Int }"))
    assert [c.description for c in changes] == ["Field Query.b was removed."]


def test_the_migrations_match_the_models() -> None:
    # Tortoise's autodetector against migrations/ (whose enums are frozen, so a new member
    # shows up as an AlterField here), in a process of its own: it rebinds the models.
    done = subprocess.run([sys.executable, "-m", "app.cli", "makemigrations", "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _pinned(lock: Path) -> set[str]:
    names = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock.read_text(), re.M)
    return {re.sub(r"[-_.]+", "-", n).lower() for n in names}


def _named(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]).lower()
            for r in requirements}


def test_the_locks_pin_every_dependency() -> None:
    # A dependency added to pyproject.toml without `make lock` would be missing from the
    # installs (make run, make test and the Dockerfile install from the locks only).
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _named(project["dependencies"])
    assert runtime - _pinned(ROOT / "requirements.lock") == set()
    dev = runtime | _named(project["optional-dependencies"]["dev"])
    assert dev - _pinned(ROOT / "requirements-dev.lock") == set()
    assert "--hash=sha256:" in (ROOT / "requirements.lock").read_text()


def test_every_notification_kind_has_a_title_and_a_body() -> None:
    for kind in NotificationKind:
        title, body = render(kind, other="Ada", when=None, timezone="UTC", join_url="u",
                             text="t")
        assert title and body, kind
    assert set(TITLES) == set(BODIES) == set(NotificationKind)


def test_every_timeline_event_kind_has_a_label() -> None:
    assert set(LABELS) == set(TimelineEventKind)
    assert all(LABELS[kind].strip() for kind in TimelineEventKind)
    for rule in RULES:
        assert all(event.label for event in rule.events), rule.code
