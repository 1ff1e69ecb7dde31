"""Trusted documents (persisted operations): the operations a client build ships, known to
the server by their SHA-256.

TRUSTED_DOCUMENTS names manifests (comma-separated paths), each a JSON object of
`{"<sha256 hex>" | "sha256:<hex>": "<document text>"}` — what GraphQL Code Generator's client
preset writes as `persisted-documents.json` (`persistedDocuments: true`). At start every
document is checked against its hash, parsed and validated once (a manifest that does not
fit the schema is a deployment error: the server refuses to start). A request then names a
document instead of sending it:

* `{"documentId": "sha256:<hex>", "variables": …}` (POST, or GET `?documentId=…`, which a
  CDN or browser can cache by URL), or
* Apollo's `{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}}`
  (its persisted-queries link; with `useGETForHashedQueries` by GET).

A known document skips parsing and validation (its DocumentNode and the verdict are kept);
the cost and variable checks still run, since they depend on the variables. An unknown id is
refused with PERSISTED_QUERY_NOT_FOUND. With TRUSTED_DOCUMENTS_ONLY=true any document that
is not in a manifest is refused (TRUSTED_DOCUMENT_REQUIRED), also over WebSockets, where
clients send the text: a text is trusted when it is a manifest's document up to formatting
and the order of its definitions.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cross_web import HTTPException
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)
from strawberry.extensions import SchemaExtension

from core.errors import RequestErrorCode
from core.settings import Settings, get_settings
from schema.errors import request_error

PREFIX = "sha256:"
NOT_FOUND = RequestErrorCode.PERSISTED_QUERY_NOT_FOUND
REQUIRED = RequestErrorCode.TRUSTED_DOCUMENT_REQUIRED
ONLY_TRUSTED = ("Only trusted documents are accepted here (TRUSTED_DOCUMENTS_ONLY): send a "
                "documentId.")


class DocumentRefused(HTTPException):
    """A request naming an unknown document, or (TRUSTED_DOCUMENTS_ONLY) sending one that
    is not trusted: HTTP 400 with a GraphQL error carrying `code`."""

    def __init__(self, code: RequestErrorCode, reason: str) -> None:
        super().__init__(400, reason)
        self.code = code


@dataclass(frozen=True)
class TrustedDocument:
    id: str  # sha256:<hex>
    text: str
    document: DocumentNode


def _copy(node: Any, **changes: Any) -> Any:
    return node.__class__(**{**{k: getattr(node, k) for k in node.keys if k != "loc"},
                             **changes})


def _order(selection: Any) -> tuple[int, str, str]:
    if isinstance(selection, FieldNode):
        return 0, (selection.alias or selection.name).value, print_ast(selection)
    if isinstance(selection, FragmentSpreadNode):
        return 1, selection.name.value, ""
    return 2, print_ast(selection), ""


class _Canonical(Visitor):
    """Drops __typename, sorts selections, arguments and variable definitions."""

    def leave_selection_set(self, node: SelectionSetNode, *_: Any) -> SelectionSetNode:
        kept = [s for s in node.selections
                if not (isinstance(s, FieldNode) and s.name.value == "__typename")]
        return _copy(node, selections=tuple(sorted(kept, key=_order)))

    def leave_field(self, node: FieldNode, *_: Any) -> FieldNode:
        return _copy(node, arguments=tuple(sorted(node.arguments or (),
                                                  key=lambda a: a.name.value)))

    def leave_operation_definition(self, node: OperationDefinitionNode, *_: Any
                                   ) -> OperationDefinitionNode:
        return _copy(node, variable_definitions=tuple(sorted(
            node.variable_definitions or (), key=lambda v: v.variable.name.value)))


def canonical(document: DocumentNode) -> str:
    """The document with what does not change what it may read normalised away: its
    formatting, comments, __typename, and the order of definitions, selections, arguments
    and variables. Two documents with the same canonical form ask for the same fields (a
    client's printer and the manifest generator's need not agree on order)."""
    normal = visit(document, _Canonical())
    operations = [d for d in normal.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = sorted((d for d in normal.definitions
                        if not isinstance(d, OperationDefinitionNode)),
                       key=lambda d: getattr(getattr(d, "name", None), "value", ""))
    return print_ast(DocumentNode(definitions=(*operations, *fragments)))


def _hex(document_id: str) -> str:
    return document_id[len(PREFIX):] if document_id.startswith(PREFIX) else document_id


class Manifest:
    def __init__(self, documents: list[TrustedDocument]) -> None:
        self.by_id = {d.id: d for d in documents}
        self.by_text = {d.text: d for d in documents}
        self.by_canonical = {canonical(d.document): d for d in documents}

    def __len__(self) -> int:
        return len(self.by_id)

    def get(self, document_id: str) -> TrustedDocument | None:
        return self.by_id.get(PREFIX + _hex(document_id).lower())

    def for_text(self, text: str) -> TrustedDocument | None:
        """The trusted document a text is (a dict lookup for the manifest's own text)."""
        found = self.by_text.get(text)
        if found is not None:
            return found
        try:
            return self.by_canonical.get(canonical(parse(text)))
        except GraphQLError:
            return None


def load(paths: list[str], schema: GraphQLSchema, rules: tuple[Any, ...]) -> Manifest:
    documents: list[TrustedDocument] = []
    problems: list[str] = []
    for path in paths:
        entries = json.loads(Path(path).read_text())
        if not isinstance(entries, dict):
            raise RuntimeError(f"TRUSTED_DOCUMENTS: {path} is not a JSON object of hash: text")
        for key, text in entries.items():
            digest = hashlib.sha256(str(text).encode()).hexdigest()
            if not isinstance(text, str) or _hex(str(key)).lower() != digest:
                problems.append(f"{path}: {key} is not the SHA-256 of its document")
                continue
            try:
                document = parse(text)
            except GraphQLError as error:
                problems.append(f"{path}: {key}: {error.message}")
                continue
            errors = validate(schema, document, rules)
            if errors:
                problems.append(f"{path}: {key}: {errors[0].message}")
                continue
            documents.append(TrustedDocument(PREFIX + digest, text, document))
    if problems:
        raise RuntimeError("TRUSTED_DOCUMENTS cannot be served:\n" + "\n".join(problems))
    return Manifest(documents)


@lru_cache(maxsize=8)
def _manifest(paths: tuple[str, ...], rules: tuple[Any, ...]) -> Manifest:
    from graphql import specified_rules

    from app.schema import schema

    return load(list(paths), schema._schema, (*specified_rules, *rules))


# By the identity of the settings (held, so that the id is not reused): asked twice per
# request, where the paths' tuple, an import and the lru_cache's key cost microseconds.
_for_settings: dict[int, tuple[Settings, Manifest | None]] = {}


def manifest_for(settings: Settings) -> Manifest | None:
    """The settings' manifests, loaded once per process (None when none are configured)."""
    hit = _for_settings.get(id(settings))
    if hit is not None and hit[0] is settings:
        return hit[1]
    paths = tuple(p.strip() for p in settings.trusted_documents if p.strip())
    manifest = None
    if paths:
        from schema.limits import rules_for

        manifest = _manifest(paths, rules_for(settings))
    if len(_for_settings) >= 64:
        _for_settings.clear()
    _for_settings[id(settings)] = (settings, manifest)
    return manifest


def resolve(data: dict[str, Any], settings: Settings) -> None:
    """Puts the named document's text into a request's `query` (in place); refuses unknown
    ids and, with TRUSTED_DOCUMENTS_ONLY, untrusted texts."""
    manifest = manifest_for(settings)
    extensions = data.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    document_id = data.get("documentId")
    if document_id is None and isinstance(persisted, dict):
        document_id = persisted.get("sha256Hash")
    if document_id is not None:
        if not isinstance(document_id, str):
            raise DocumentRefused(NOT_FOUND, "`documentId` must be a string: sha256:<hex>.")
        known = manifest.get(document_id) if manifest is not None else None
        if known is None:
            # Apollo's persisted-queries link recognises this message and retries with the
            # text (accepted unless TRUSTED_DOCUMENTS_ONLY).
            raise DocumentRefused(NOT_FOUND, "PersistedQueryNotFound")
        query = data.get("query")
        if query is not None and query != known.text and (
                not isinstance(query, str)
                or hashlib.sha256(query.encode()).hexdigest() != _hex(known.id)):
            raise DocumentRefused(NOT_FOUND, "The query does not match its documentId.")
        data["query"] = known.text
        return
    if settings.trusted_documents_only:
        query = data.get("query")
        if not isinstance(query, str) or manifest is None or manifest.for_text(query) is None:
            raise DocumentRefused(REQUIRED, ONLY_TRUSTED)


class TrustedDocuments(SchemaExtension):
    """Hands a trusted document's DocumentNode to the operation (no parse) and marks it
    validated (QueryLimits then skips validation but still checks cost and variables).
    List it before QueryLimits. Under TRUSTED_DOCUMENTS_ONLY it refuses any other document,
    whatever the transport (WebSocket subscriptions send text)."""

    def _settings(self) -> Settings:
        settings = getattr(self.execution_context.context, "settings", None)
        return settings if isinstance(settings, Settings) else get_settings()

    def on_parse(self) -> Iterator[None]:
        ec = self.execution_context
        settings = self._settings()
        manifest = manifest_for(settings)
        # The manifest's own text (what a documentId resolves to): its parsed and validated
        # document. A text equal to one only up to order and __typename (a client's own
        # printing, as over WebSockets) is trusted but parsed and validated as usual.
        exact = manifest.by_text.get(ec.query) if manifest is not None and ec.query else None
        self._trusted = exact is not None
        if exact is not None:
            ec.graphql_document = exact.document
        elif settings.trusted_documents_only and (
                manifest is None or not ec.query or manifest.for_text(ec.query) is None):
            raise request_error(REQUIRED, ONLY_TRUSTED)
        yield

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if getattr(self, "_trusted", False) and ec.pre_execution_errors is None:
            ec.pre_execution_errors = []  # validated when the manifest was loaded
        yield
