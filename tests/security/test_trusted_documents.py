"""Trusted documents (app/trusted_documents.py): requests that name a document of a
manifest by its SHA-256 (documentId, or Apollo's persistedQuery extension, by POST or GET)
get the same answer as with the text, without parsing or validating it again; unknown ids
are refused; with TRUSTED_DOCUMENTS_ONLY any other document is refused."""

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import schema.limits
from app.asgi import create_app
from core.settings import Settings
from tests.support.security import app_client, settings_with, token

VIEWER = "query Viewer { viewer { account { id displayName } } }"
CREDITS = "query Unread($n: Int) { notifications(first: $n) { unreadCount } }"
GRANT = ("mutation Grant($i: GrantCreditsInput!) { grantCredits(input: $i) { "
         "errors { code } } }")


def _id(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    # The client preset's format: the bare hex digest as key.
    path = tmp_path / "persisted-documents.json"
    path.write_text(json.dumps({_id(t)[7:]: t for t in (VIEWER, CREDITS, GRANT)}))
    return path


def _settings(manifest: Path, only: bool = False) -> Settings:
    return settings_with(trusted_documents=[str(manifest)], trusted_documents_only=only)


def _bearer(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(settings)}"}


class _Validations:
    """Counts the validations QueryLimits asks for (a spy, not a stand-in: the real
    function still runs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = schema.limits.validate_cached

        def counted(*args: Any) -> Any:
            self.count += 1
            return original(*args)

        monkeypatch.setattr(schema.limits, "validate_cached", counted)


async def test_a_document_id_answers_as_the_text_does_without_validation(
        orm: str, manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _settings(manifest)
    headers = _bearer(settings)
    validations = _Validations(monkeypatch)
    async with app_client(settings) as http:
        other = await http.post("/graphql", json={"query": "{ viewer { isAdmin } }"},
                                headers=headers)
        assert other.status_code == 200 and validations.count == 1  # a text is validated
        by_text = (await http.post("/graphql", json={"query": VIEWER}, headers=headers)).json()
        by_id = (await http.post("/graphql", json={"documentId": _id(VIEWER)},
                                 headers=headers)).json()
        apollo = (await http.post("/graphql", headers=headers, json={
            "operationName": "Viewer", "extensions": {"persistedQuery": {
                "version": 1, "sha256Hash": _id(VIEWER)[7:]}}})).json()
        both = (await http.post("/graphql", headers=headers, json={
            "query": VIEWER, "extensions": {"persistedQuery": {
                "version": 1, "sha256Hash": _id(VIEWER)[7:]}}})).json()
    assert by_text["data"]["viewer"]["account"]["id"]
    assert by_id == by_text == apollo == both
    # The manifest's document, named or sent as its text, was never validated again.
    assert validations.count == 1


async def test_get_with_a_document_id_and_variables(orm: str, manifest: Path) -> None:
    settings = _settings(manifest)
    async with app_client(settings) as http:
        response = await http.get("/graphql", headers=_bearer(settings), params={
            "documentId": _id(CREDITS), "variables": json.dumps({"n": 5})})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["notifications"]["unreadCount"] == 0
        # A mutation is never run by GET, trusted or not.
        refused = await http.get("/graphql", headers=_bearer(settings), params={
            "documentId": _id(GRANT), "variables": json.dumps({"i": {}})})
        assert refused.status_code in (400, 405)
        assert "data" not in refused.text or refused.json().get("data") is None


async def test_an_unknown_document_id_is_refused(orm: str, manifest: Path) -> None:
    settings = _settings(manifest)
    async with app_client(settings) as http:
        for body in ({"documentId": _id("{ viewer { isAdmin } }")},
                     {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}},
                     {"documentId": 42}):
            response = await http.post("/graphql", json=body, headers=_bearer(settings))
            assert response.status_code == 400
            (error,) = response.json()["errors"]
            assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND", error
        mismatch = await http.post("/graphql", headers=_bearer(settings), json={
            "query": "{ viewer { isAdmin } }", "documentId": _id(VIEWER)})
        assert mismatch.status_code == 400
        assert mismatch.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_trusted_documents_only_refuses_any_other_document(orm: str,
                                                                 manifest: Path) -> None:
    settings = _settings(manifest, only=True)
    headers = _bearer(settings)
    async with app_client(settings) as http:
        other = await http.post("/graphql", json={"query": "{ viewer { isAdmin } }"},
                                headers=headers)
        assert other.status_code == 400
        (error,) = other.json()["errors"]
        assert error["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
        assert "documentId" in error["message"]
        # A manifest's document is trusted whether named or sent as text (formatted
        # differently).
        named = await http.post("/graphql", json={"documentId": _id(VIEWER)}, headers=headers)
        reformatted = VIEWER.replace(" { ", "{\n  ").replace(" } ", "\n}\n")
        sent = await http.post("/graphql", json={"query": reformatted}, headers=headers)
    assert named.status_code == sent.status_code == 200
    assert named.json() == sent.json()
    assert named.json()["data"]["viewer"]["account"]["id"]


def test_a_manifest_that_does_not_fit_is_refused_at_start(orm: str, tmp_path: Path) -> None:
    wrong_hash = tmp_path / "wrong.json"
    wrong_hash.write_text(json.dumps({"00" * 32: VIEWER}))
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({_id("{ nope }")[7:]: "{ nope }"}))
    for path, reason in ((wrong_hash, "not the SHA-256"), (invalid, "nope")):
        with pytest.raises(RuntimeError, match=reason):
            create_app(_settings(path), manage_db=False)


async def test_without_manifests_a_document_id_is_not_found(orm: str) -> None:
    settings = settings_with(trusted_documents=[], trusted_documents_only=False)
    async with app_client(settings) as http:
        response = await http.post("/graphql", json={"documentId": _id(VIEWER)},
                                   headers=_bearer(settings))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

