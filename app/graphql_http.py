"""GraphQL over HTTP (`GET` and `POST /graphql`): a plain ASGI endpoint around
app/operation.py. `FastPath` (app/asgi.py) hands it same-origin requests straight from the
request-id middleware, past Starlette's middleware and router, which cost a tenth of a small
query; cross-origin requests (CORS) take the full stack to the same endpoint.

- The body: every top-level field of the wrong JSON type (`query`, `variables`,
  `operationName`, `extensions`; POST or GET), a body that is not a JSON object, or JSON
  that cannot be read answers 400 with a message naming what is wrong (JSON, in the media
  type the client asked for). Bodies over MAX_BODY_BYTES answer 413.
- Anonymous requests: refused with UNAUTHENTICATED before parsing unless the settings allow
  them (development). With introspection explicitly enabled, an anonymous document that
  asks only for introspection (`__schema`, `__type`, `__typename`) is still answered.
- Trusted documents (app/trusted_documents.py): `documentId` or Apollo's persistedQuery,
  by POST or GET, resolved to their text before anything else.
- GET runs queries only (never mutations); without a query, a browser (Accept: text/html)
  gets GraphiQL where enabled.
- The response: `application/graphql-response+json` when the client prefers it, with the
  status of app/response_status.py (Retry-After, WWW-Authenticate) and no `data` on request
  errors; `application/json` as before (200).
- Deadlines: REQUEST_TIMEOUT_SECONDS per operation, cut to the grace on shutdown
  (app/shutdown.py); a request cut answers SERVICE_UNAVAILABLE and nothing was applied.
- Logs: one INFO line per request that has errors, with the operation name and the error
  codes, never the query or the variables; unexpected exceptions are logged at ERROR where
  they are masked (app/schema.py).
"""

import json
import logging
import re
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
)
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from strawberry.http.ides import get_graphql_ide_html
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types.execution import PreExecutionError

from app import auth, operation, trusted_documents
from app.guards import CLOSE as _CLOSE
from app.guards import TooLarge, read_body, too_large_body
from app.metrics import error_code
from app.response_status import (
    GRAPHQL_RESPONSE_JSON,
    is_request_error,
    media_type_for,
    request_error_status,
    retry_after,
)
from app.schema import RETRY_AFTER_SECONDS
from app.shutdown import Deadlines, Outcome
from core.errors import ErrorCode, RequestErrorCode
from core.observability import bind_request_id, unbind_request_id
from core.settings import Settings
from resolvers.context import Context
from schema.errors import request_error

log = logging.getLogger("meetings.requests")

# An operation name is a GraphQL Name; anything else can match no operation of a document.
OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,127}")
LOGGED_CODES = 8  # distinct codes in the log line of one request
# orjson reads integers beyond 64 bits as floats; a body with such a digit run is read by the
# standard library, which keeps them integers (and then coercion names the value).
_LONG_DIGITS = re.compile(rb"\d{19}")
_JSON = (b"content-type", b"application/json")
_GRAPHQL_RESPONSE = (b"content-type", b"application/graphql-response+json; charset=utf-8")
_HTML = (b"content-type", b"text/html; charset=utf-8")
_VARY = (b"vary", b"Origin")
# A response: status, content type header, body, further headers.
_Answer = tuple[int, tuple[bytes, bytes], bytes, dict[str, str]]


def _bad_field(field: str, expected: str) -> HTTPException:
    return HTTPException(400, f"The request's `{field}` must be {expected}.")


def _strawberry_field(field: str, expected: str) -> HTTPException:
    # Strawberry's wording for these three, which clients and the audit have seen.
    return HTTPException(400, f"The GraphQL operation's `{field}` must be {expected}, if "
                              "provided.")


def decode_json(data: bytes | str) -> Any:
    """json.loads' reading (ValueError when it cannot), at orjson's speed where they agree:
    orjson refuses what it reads differently (NaN, lone surrogates, a BOM, huge numbers), and
    integers it would turn into floats are left to json.loads."""
    raw = data.encode() if isinstance(data, str) else data
    if _LONG_DIGITS.search(raw) is None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(data)


def encode_json(data: object) -> bytes:
    try:
        return orjson.dumps(data)
    except TypeError:  # integers beyond 64 bits
        return json.dumps(data, separators=(",", ":")).encode()


class _SubResponse:
    """What resolvers and the mutation transaction may set on the response
    (`context.response`): headers (e.g. Idempotent-Replayed) and a status."""

    __slots__ = ("headers", "status_code")

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.status_code: int | None = None


class _Parsed:
    """A request's GraphQL fields, checked for their JSON types."""

    __slots__ = ("extensions", "operation_name", "query", "variables")

    def __init__(self, data: dict[str, Any]) -> None:
        query = data.get("query")
        if not isinstance(query, str | None):
            raise _strawberry_field("query", "a string or null")
        variables = data.get("variables")
        if not isinstance(variables, dict | None):
            raise _strawberry_field("variables", "an object or null")
        extensions = data.get("extensions")
        if not isinstance(extensions, dict | None):
            raise _strawberry_field("extensions", "an object or null")
        name = data.get("operationName")
        if name is not None and not (isinstance(name, str) and OPERATION_NAME.fullmatch(name)):
            raise _bad_field("operationName", "null or the name of an operation of the "
                                              "document (a GraphQL name of at most 128 "
                                              "characters)")
        self.query: str | None = query
        self.variables: dict[str, Any] | None = variables
        self.extensions: dict[str, Any] | None = extensions
        self.operation_name: str | None = name


_content_types: dict[str, str] = {}


def _mime_type(content_type: str) -> str:
    """Strawberry's reading of a Content-Type (the e-mail parser's), memoised: a client
    sends the same few."""
    mime = _content_types.get(content_type)
    if mime is None:
        if len(_content_types) > 64:
            _content_types.clear()
        mime = _content_types[content_type] = parse_content_type(content_type)[0]
    return mime


class GraphQLHTTP:
    """The ASGI endpoint of GraphQL over HTTP (the route, and the fast path's target)."""

    def __init__(self, settings: Settings, deadlines: Deadlines) -> None:
        self.settings = settings
        self.deadlines = deadlines  # cut to the grace on shutdown
        self.ide_html = (get_graphql_ide_html(graphql_ide="graphiql").encode()
                         if settings.graphiql_enabled else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, *,
                       tail: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        """`tail`: headers every response of the fast path ends with (the request id; `Vary:
        Origin` where CORS would have added it). An unexpected exception is answered 500
        before anything was sent and raised to the server, as Starlette's
        ServerErrorMiddleware does."""
        try:
            answer = await self._answer_request(scope, receive)
        except Exception:
            await send({"type": "http.response.start", "status": 500, "headers": [
                (b"content-length", b"21"), (b"content-type", b"text/plain; charset=utf-8")]})
            await send({"type": "http.response.body", "body": b"Internal Server Error"})
            raise
        if answer is None:  # the client went away
            return
        status, content_type, content, extra = answer
        headers = [(b"content-length", str(len(content)).encode()), content_type]
        headers.extend((k.lower().encode("latin-1"), v.encode("latin-1"))
                       for k, v in extra.items())
        headers.extend(tail)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _answer_request(self, scope: Scope, receive: Receive) -> _Answer | None:
        body = await read_body(scope, receive, self.settings.max_body_bytes)
        if body is None:
            return None
        if isinstance(body, TooLarge):
            return 413, _JSON, too_large_body(self.settings.max_body_bytes), _CLOSE
        request = Request(scope, receive)
        headers = request.headers
        media_type = media_type_for(headers.get("accept"))
        content_type = _GRAPHQL_RESPONSE if media_type == GRAPHQL_RESPONSE_JSON else _JSON
        response = _SubResponse()
        context = Context(settings=self.settings, request=request, response=response)
        try:
            await auth.authenticate_context(context, headers.get("authorization"))
        except auth.ServiceUnavailable as exc:
            context.unavailable = str(exc)  # answered SERVICE_UNAVAILABLE, not run
        try:
            content = await self._answer(scope["method"], request, body, context, media_type)
        except HTTPException as exc:
            log.info("graphql request refused", extra={"status": exc.status_code,
                                                       "reason": exc.reason[:200]})
            code = getattr(exc, "code", RequestErrorCode.BAD_REQUEST)
            refusal = {"errors": [{"message": exc.reason, "extensions": {"code": code.value}}]}
            return exc.status_code, content_type, json.dumps(refusal).encode(), {}
        if content is None:  # GraphiQL
            assert self.ide_html is not None
            return 200, _HTML, self.ide_html, {}
        return response.status_code or 200, content_type, content, response.headers

    async def _answer(self, method: str, request: Request, body: bytes, context: Context,
                      media_type: str) -> bytes | None:
        """The response body; None for GraphiQL. Raises HTTPException for a refusal."""
        if method not in ("GET", "POST"):
            raise HTTPException(405, "GraphQL only supports GET and POST requests.")
        if method == "GET":
            params = request.query_params
            if self._wants_ide(params, request.headers.get("accept", "")):
                if self.ide_html is None:
                    raise HTTPException(404, "Not Found")
                return None
            data = self._query_params(params)
        else:
            if "application/json" not in _mime_type(request.headers.get("content-type") or ""):
                raise HTTPException(400, "Unsupported content type")
            data = self._json_body(body)
        parsed = _Parsed(data)
        result = await self._run(method, context, parsed)
        response: dict[str, Any] = {"data": result.data}
        if result.errors:
            self._log_errors(parsed, result)
            request_error = is_request_error(result.data, result.errors)
            sub = context.response
            if media_type == GRAPHQL_RESPONSE_JSON and request_error:
                sub.status_code = request_error_status(result.errors)
                del response["data"]  # a request error has no data entry
            seconds = retry_after(result.errors)
            if seconds is not None and sub.status_code in (429, 503):
                sub.headers["Retry-After"] = str(seconds)
            if sub.status_code == 401:
                sub.headers["WWW-Authenticate"] = "Bearer"
            response["errors"] = [e.formatted for e in result.errors]
        return encode_json(response)

    def _wants_ide(self, params: QueryParams, accept: str) -> bool:
        # A GET naming a trusted document (documentId, or Apollo's persistedQuery in
        # `extensions`) is an operation, not a visit to GraphiQL.
        if params.get("documentId") is not None or params.get("extensions") is not None:
            return False
        return params.get("query") is None and ("text/html" in accept or "*/*" in accept)

    def _query_params(self, params: QueryParams) -> dict[str, Any]:
        parsed: dict[str, Any] = dict(params)
        for field in ("variables", "extensions"):
            raw = parsed.get(field)
            if isinstance(raw, str) and raw:
                try:
                    parsed[field] = decode_json(raw)
                except ValueError as exc:
                    raise _bad_field(field, "a JSON-encoded object") from exc
        trusted_documents.resolve(parsed, self.settings)
        return parsed

    def _json_body(self, body: bytes) -> dict[str, Any]:
        try:
            value = decode_json(body)
        except ValueError as exc:  # JSONDecodeError, bad UTF-8, integers of 4,300+ digits
            raise HTTPException(400, "The request body is not valid JSON.") from exc
        if isinstance(value, list):
            raise HTTPException(400, "Batching is not enabled")
        if not isinstance(value, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        trusted_documents.resolve(value, self.settings)
        return value

    async def _run(self, method: str, context: Context, parsed: _Parsed
                   ) -> operation.Result:
        if context.unavailable is not None:
            return PreExecutionError(data=None, errors=[_unavailable(
                "The service is briefly unavailable; retry.")])
        refusal = self._anonymous_refusal(context, parsed.query)
        if refusal is not None:
            return PreExecutionError(data=None, errors=[refusal])
        try:
            # Cancelled at the deadline (or the shutdown's): the mutation's transaction
            # rolls back, so a request the client was told failed is never applied.
            async with self.deadlines.of_request(self.settings.request_timeout_seconds):
                return await operation.run(context, method, parsed.query, parsed.variables,
                                           parsed.operation_name, parsed.extensions)
        except TimeoutError:
            if self.deadlines.cut_at is not None:
                Outcome.requests_cut += 1
                message = "The server is shutting down; nothing was applied. Retry."
            else:
                message = "The request timed out; nothing was applied. Retry."
            log.warning("request ended at its deadline: %s", message)
            return PreExecutionError(data=None, errors=[_unavailable(message)])

    def _anonymous_refusal(self, context: Context, query: str | None) -> GraphQLError | None:
        if context.account is not None or self.settings.anonymous_allowed:
            return None
        if self.settings.introspection_enabled and _asks_only_introspection(
                query, self.settings.max_query_tokens):
            return None
        return request_error(ErrorCode.UNAUTHENTICATED,
                             context.auth_error or "Authentication required.")

    def _log_errors(self, parsed: _Parsed, result: operation.Result) -> None:
        codes: list[str] = []
        for error in result.errors or ():
            code = error_code(error, result)
            if code not in codes:
                codes.append(code)
        name = parsed.operation_name
        log.info("graphql errors", extra={
            "operation": name[:64] if isinstance(name, str) else None,
            "codes": codes[:LOGGED_CODES], "errors": len(result.errors or ())})


class FastPath:
    """`GET`/`POST /graphql` without an Origin header (or with CORS off), taken by the app
    (app/asgi.py) before Starlette's middleware and router, with what of them applies here:
    the request id (RequestIdMiddleware's), `Vary: Origin` where CORS is on, the 500 of an
    unexpected exception. Everything else goes through Starlette's stack."""

    def __init__(self, endpoint: GraphQLHTTP, cors: bool) -> None:
        self.endpoint = endpoint
        self.cors = cors

    def takes(self, scope: Scope) -> bool:
        return (scope["type"] == "http" and scope["path"] == "/graphql"
                and not scope.get("root_path") and scope["method"] in ("GET", "POST", "HEAD")
                and not (self.cors and any(name == b"origin" for name, _ in scope["headers"])))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id, tokens = bind_request_id(scope)
        header = (b"x-request-id", request_id.encode("latin-1"))
        try:
            await self.endpoint(scope, receive, send,
                                tail=(_VARY, header) if self.cors else (header,))
        finally:
            unbind_request_id(tokens)


def _unavailable(message: str) -> GraphQLError:
    error = request_error(RequestErrorCode.SERVICE_UNAVAILABLE, message,
                          retry_after=RETRY_AFTER_SECONDS)
    error.extensions["retryable"] = True  # type: ignore[index]
    return error


def _asks_only_introspection(query: str | None, max_tokens: int) -> bool:
    """Whether every operation of the document selects only `__schema`, `__type` and
    `__typename` at its root. Parsed here (only for anonymous requests with introspection
    on); a document that does not parse is left to the pipeline, which reports the error."""
    if not query:
        return False
    try:
        document = parse(query, max_tokens=max_tokens)
    except GraphQLError:
        return True
    fragments = {d.name.value: d for d in document.definitions
                 if isinstance(d, FragmentDefinitionNode)}

    def only_meta(selection_set: SelectionSetNode, seen: frozenset[str]) -> bool:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if not selection.name.value.startswith("__"):
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not only_meta(selection.selection_set, seen):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in seen \
                        or not only_meta(fragment.selection_set, seen | {name}):
                    return False
        return True

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return bool(operations) and all(only_meta(o.selection_set, frozenset())
                                    for o in operations)
