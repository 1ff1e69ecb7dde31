"""Structured logs and request ids.

Every log line, ours (stdlib `logging` or structlog) and the libraries' (uvicorn, Tortoise,
Dramatiq), goes through one structlog `ProcessorFormatter` on stderr: JSON objects, one per
line, with LOG_FORMAT=json (the production default), coloured key=value lines with
LOG_FORMAT=console (the development default).

`RequestIdMiddleware` gives each HTTP request (and each WebSocket connection) an id, taken
from an incoming `X-Request-ID` header when it is sane or generated, binds it in structlog's
contextvars (so every line logged while the request runs carries `request_id`) and returns
it in the `X-Request-ID` response header.
"""

import logging
import os
import re
import sys
from typing import Any
from urllib.parse import parse_qsl

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
# Loggers that libraries configure with handlers of their own: routed to the root instead.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi",
                    "dramatiq")


def _drop_color_message(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    # uvicorn's coloured duplicate of the message, and the copy another handler's
    # formatter may have left on the record.
    event.pop("color_message", None)
    event.pop("message", None)
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def build_formatter(log_format: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter of every line: `json` or `console`."""
    renderer: list[Any]
    if log_format == "json":
        renderer = [structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer()]
    else:
        # Plain tracebacks: rich ones (with locals) cost tens of milliseconds per error.
        renderer = [structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *renderer],
    )


class AccessLineWithoutQueryString(logging.Filter):
    """uvicorn's access line carries the whole URL: for a GraphQL GET, the query and its
    variables (and a bad request as long as the URL). The line keeps the path, the names of
    the parameters (a persisted query's GET shows `extensions` without `query`) and the
    query string's length, never the values."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, _, query = args[2].partition("?")
            if query:
                names = sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)
                                if _PARAMETER_NAME.fullmatch(name)})[:8]
                record.args = (args[0], args[1],
                               f"{path[:256]}?{'&'.join(names)} ({len(query)} bytes)",
                               *args[3:])
        return True


_PARAMETER_NAME = re.compile(r"[A-Za-z0-9_]{1,32}")
_ACCESS_FILTER = AccessLineWithoutQueryString()


class _OurHandler(logging.StreamHandler):
    """Marks the handler this module installed, so that configuring again replaces it and
    leaves other handlers (pytest's capture, for one) alone. Writes to the current
    `sys.stderr`, whatever replaced it since."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(log_format: str = "console", level: str | int = "INFO") -> None:
    """Idempotent: one handler on the root logger, formatted by structlog."""
    structlog.configure(
        processors=[*_shared_processors(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(handler)
    handler = _OurHandler(sys.stderr)
    handler.setFormatter(build_formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for name in _LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for own in list(library.handlers):
            library.removeHandler(own)
        library.propagate = True
    access = logging.getLogger("uvicorn.access")
    if _ACCESS_FILTER not in access.filters:
        access.addFilter(_ACCESS_FILTER)
    # A client library's line per outgoing request (JWKS, Zoom, tests) is noise at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id":
            candidate = value.decode("latin-1").strip()
            if _SANE_ID.fullmatch(candidate):
                return candidate
            break
    # 32 random hex digits, as uuid4().hex wrote them, without building a UUID (a third of
    # the cost).
    return os.urandom(16).hex()


def bind_request_id(scope: Scope) -> tuple[str, Any]:
    """A request's id, kept in `scope["state"]` and bound in structlog's contextvars for the
    lines logged while it runs; with the tokens that `unbind_request_id` takes (what
    `bound_contextvars` does, without a generator-based context manager per request)."""
    request_id = request_id_from(scope.get("headers") or [])
    scope.setdefault("state", {})["request_id"] = request_id
    return request_id, structlog.contextvars.bind_contextvars(request_id=request_id)


def unbind_request_id(tokens: Any) -> None:
    structlog.contextvars.reset_contextvars(**tokens)


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware: the app runs in this task, so the contextvars bound
    here reach every log line of the request, the access log included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id, tokens = bind_request_id(scope)
        header = (b"x-request-id", request_id.encode("latin-1"))

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            unbind_request_id(tokens)
