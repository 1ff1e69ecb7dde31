"""The GraphQL view: Strawberry's ASGI view with the request path hardened.

- The body: every top-level field of the wrong JSON type (`query`, `variables`,
  `operationName`, `extensions`; POST or GET), a body that is not a JSON object, or JSON
  that cannot be read answers 400 with a message naming what is wrong (JSON, in the media
  type the client asked for).
- Anonymous requests: refused with UNAUTHENTICATED before parsing unless the settings allow
  them (development). With introspection explicitly enabled, an anonymous document that
  asks only for introspection (`__schema`, `__type`, `__typename`) is still answered.
  WebSockets: a `connection_init` without a valid token is closed with 4403.
- The response: `application/graphql-response+json` when the client prefers it, with the
  status of app/response_status.py and no `data` on request errors; `application/json`
  as before (200).
- Logs: one INFO line per request that has errors, with the operation name and the error
  codes, never the query or the variables; unexpected exceptions are logged at ERROR where
  they are masked (app/schema.py), and masked here if one escaped the extension.
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
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData, process_result
from strawberry.http.types import QueryParams
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from app import auth, trusted_documents
from app.metrics import error_code
from app.response_status import (
    GRAPHQL_RESPONSE_JSON,
    is_request_error,
    media_type_for,
    request_error_status,
    retry_after,
)
from app.schema import RETRY_AFTER_SECONDS, mask_unexpected, schema
from app.shutdown import Deadlines, Outcome, WebSockets
from app.websocket_handlers import (
    OutageAwareTransportWSHandler,
    RefusingGraphQLWSHandler,
    ServiceUnavailable,
    live_frames,
)
from core.errors import ErrorCode, RequestErrorCode
from core.settings import Settings
from core.transient import is_transient
from resolvers.context import Context
from resolvers.loaders import Loaders
from schema.errors import request_error

log = logging.getLogger("meetings.requests")

# An operation name is a GraphQL Name; anything else can match no operation of a document.
OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,127}")
LOGGED_CODES = 8  # distinct codes in the log line of one request


def _bad_field(field: str, expected: str) -> HTTPException:
    return HTTPException(400, f"The request's `{field}` must be {expected}.")


class MeetingsGraphQL(GraphQL[Context, None]):
    graphql_ws_handler_class = RefusingGraphQLWSHandler
    graphql_transport_ws_handler_class = OutageAwareTransportWSHandler

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL),
            # Cross-origin WebSocket handshakes from other pages are refused (403) unless
            # listed; same-origin pages and non-browser clients (no Origin) always connect.
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        self.websockets = WebSockets()  # closed with 1001 on shutdown (app/shutdown.py)
        self.deadlines = Deadlines()  # cut to the grace on shutdown

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request = Request(scope=scope, receive=receive)
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = self._request_refused(request, exc)
            await response(scope, receive, send)
            return
        if self.websockets.closing:  # shutting down: refuse the handshake
            await send({"type": "websocket.close", "code": 1001})
            return
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.websockets.remove(scope)

    async def create_websocket_response(self, request: Any, subprotocol: str | None) -> Any:
        websocket = await super().create_websocket_response(request, subprotocol)
        self.websockets.add(websocket)
        return websocket

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET naming a trusted document (documentId, or Apollo's persistedQuery in
        # `extensions`) is an operation, not a visit to GraphiQL.
        params = request.query_params
        if params.get("documentId") is not None or params.get("extensions") is not None:
            return False
        return super().should_render_graphql_ide(request)

    # --- encoding -------------------------------------------------------------------------

    def encode_json(self, data: object) -> str | bytes:
        """orjson for responses; a WebSocket message stays text (a `bytes` answer would go
        out as a binary frame), and a `next` frame's data, shared by every subscriber of a
        broadcast (schema/executor.py), is encoded once."""
        if isinstance(data, dict) and "type" in data:
            return live_frames.encode(data)
        try:
            return orjson.dumps(data)
        except TypeError:
            return super().encode_json(data)

    # --- the request body -----------------------------------------------------------------

    def parse_json(self, data: str | bytes) -> Any:
        try:
            value = self.decode_json(data)
        except ValueError as exc:  # JSONDecodeError, bad UTF-8, integers of 4,300+ digits
            raise HTTPException(400, "The request body is not valid JSON.") from exc
        if not isinstance(value, dict | list):  # a list is a batch: refused by Strawberry
            raise HTTPException(400, "The request body must be a JSON object.")
        if isinstance(value, dict):
            trusted_documents.resolve(value, self.settings)
        return value

    def parse_query_params(self, params: QueryParams) -> dict[str, Any]:
        parsed: dict[str, Any] = dict(params)
        for field in ("variables", "extensions"):
            raw = parsed.get(field)
            if isinstance(raw, str) and raw:
                try:
                    parsed[field] = self.decode_json(raw)
                except ValueError as exc:
                    raise _bad_field(field, "a JSON-encoded object") from exc
        trusted_documents.resolve(parsed, self.settings)
        return parsed

    async def parse_http_body(self, request_adapter: Any
                              ) -> GraphQLRequestData | list[GraphQLRequestData]:
        request_data = await super().parse_http_body(request_adapter)
        for data in request_data if isinstance(request_data, list) else [request_data]:
            name: object = data.operation_name
            if name is not None and not (isinstance(name, str)
                                         and OPERATION_NAME.fullmatch(name)):
                raise _bad_field("operationName", "null or the name of an operation of the "
                                                  "document (a GraphQL name of at most 128 "
                                                  "characters)")
        return request_data

    def _request_refused(self, request: Request, exc: HTTPException) -> Response:
        log.info("graphql request refused", extra={"status": exc.status_code,
                                                   "reason": exc.reason[:200]})
        media_type = media_type_for(request.headers.get("accept"))
        if media_type == GRAPHQL_RESPONSE_JSON:
            media_type += "; charset=utf-8"
        code = getattr(exc, "code", RequestErrorCode.BAD_REQUEST)
        body = {"errors": [{"message": exc.reason, "extensions": {"code": code.value}}]}
        return Response(json.dumps(body), status_code=exc.status_code, media_type=media_type)

    # --- authentication -------------------------------------------------------------------

    async def get_context(self, request: Any, response: Any) -> Context:
        context = Context(settings=self.settings, request=request, response=response)
        try:
            await self._authenticate(context, request.headers.get("authorization"))
        except ServiceUnavailable as exc:
            context.unavailable = str(exc)  # answered SERVICE_UNAVAILABLE, not run
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # WebSocket clients send the token in the connection_init payload (SPEC §9).
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        refusal = await self.refuse_connection(context, params)
        if refusal is not None:
            raise ConnectionRejectionError({"message": refusal})  # closed with 4403
        return UNSET

    async def refuse_connection(self, context: Context, params: dict[str, Any]) -> str | None:
        """Authenticates a WebSocket from its connection_init payload; the reason to close it
        when the settings require a token and it has no valid one."""
        if context.account is None:
            header = params.get("authorization") or params.get("Authorization")
            if header:
                await self._authenticate(context, str(header))
        if context.account is None and not self.settings.anonymous_allowed:
            return context.auth_error or "Authentication required."
        return None

    async def _authenticate(self, context: Context, header: str | None) -> None:
        try:
            context.account = await auth.authenticate(header, self.settings)
        except auth.AuthError as exc:
            context.auth_error = str(exc)
            return
        except Exception as exc:
            if is_transient(exc):  # e.g. a token not seen lately during a database outage
                log.warning("authentication unavailable: %r", exc)
                raise ServiceUnavailable(repr(exc)) from exc
            raise
        context.auth_error = None
        context.loaders = Loaders(context.account.id)

    def _anonymous_refusal(self, context: Context, request_data: GraphQLRequestData
                           ) -> GraphQLError | None:
        if context.account is not None or self.settings.anonymous_allowed:
            return None
        if self.settings.introspection_enabled and _asks_only_introspection(
                request_data.query, self.settings.max_query_tokens):
            return None
        return request_error(ErrorCode.UNAUTHENTICATED,
                             context.auth_error or "Authentication required.")

    # --- execution and the response -------------------------------------------------------

    async def execute_single(self, request: Request, request_adapter: Any, sub_response: Response,
                             context: Context, root_value: None,
                             request_data: GraphQLRequestData) -> ExecutionResult:
        refusal = self._anonymous_refusal(context, request_data)
        if context.unavailable is not None:
            result = ExecutionResult(data=None, errors=[_unavailable("The service is briefly "
                                                                     "unavailable; retry.")])
        elif refusal is not None:
            result = ExecutionResult(data=None, errors=[refusal])
        else:
            try:
                # Cancelled at the deadline (or the shutdown's): the mutation's transaction
                # rolls back, so a request the client was told failed is never applied.
                async with self.deadlines.of_request(self.settings.request_timeout_seconds):
                    result = await super().execute_single(request, request_adapter,
                                                          sub_response, context, root_value,
                                                          request_data)
            except TimeoutError:
                if self.deadlines.cut_at is not None:
                    Outcome.requests_cut += 1
                    message = "The server is shutting down; nothing was applied. Retry."
                else:
                    message = "The request timed out; nothing was applied. Retry."
                log.warning("request ended at its deadline: %s", message)
                result = ExecutionResult(data=None, errors=[_unavailable(message)])
        if result.errors:
            result.errors = mask_unexpected(result.errors)
            self._log_errors(request_data, result)
            if media_type_for(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON \
                    and is_request_error(result.data, result.errors):
                sub_response.status_code = request_error_status(result.errors)
            seconds = retry_after(result.errors)
            if seconds is not None and sub_response.status_code in (429, 503):
                sub_response.headers["Retry-After"] = str(seconds)
            if sub_response.status_code == 401:
                sub_response.headers["WWW-Authenticate"] = "Bearer"
        return result

    async def process_result(self, request: Request, result: ExecutionResult
                             ) -> GraphQLHTTPResponse:
        response = process_result(result)
        if media_type_for(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON \
                and is_request_error(result.data, result.errors):
            response.pop("data", None)  # a request error has no data entry
        return response

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        response = await super().run(request, context, root_value)
        if isinstance(request, Request) and isinstance(response, Response) \
                and response.media_type == "application/json":
            media_type = media_type_for(request.headers.get("accept"))
            if media_type == GRAPHQL_RESPONSE_JSON:
                response.headers["content-type"] = f"{media_type}; charset=utf-8"
        return response

    def _log_errors(self, request_data: GraphQLRequestData, result: ExecutionResult) -> None:
        codes: list[str] = []
        for error in result.errors or ():
            code = error_code(error, result)
            if code not in codes:
                codes.append(code)
        operation = request_data.operation_name
        log.info("graphql errors", extra={
            "operation": operation[:64] if isinstance(operation, str) else None,
            "codes": codes[:LOGGED_CODES], "errors": len(result.errors or ())})


def _unavailable(message: str) -> GraphQLError:
    error = request_error(RequestErrorCode.SERVICE_UNAVAILABLE, message,
                          retry_after=RETRY_AFTER_SECONDS)
    error.extensions["retryable"] = True  # type: ignore[index]
    return error


def _asks_only_introspection(query: str | None, max_tokens: int) -> bool:
    """Whether every operation of the document selects only `__schema`, `__type` and
    `__typename` at its root. Parsed here (only for anonymous requests with introspection
    on); a document that does not parse is left to the schema, which reports the error."""
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
