"""A real local HTTP server serving iCalendar fixtures (tests/calendars/fixtures) and the bad
answers a calendar URL can give; the fixtures that start it are tests/calendars/conftest.py."""

import contextlib
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).resolve().parents[1] / "calendars" / "fixtures"
MB = 1024 * 1024


@dataclass
class CalendarServer:
    """`url(path)`; `files` can be changed by a test; `counts` per (path, status)."""

    port: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def count(self, path: str, status: int) -> int:
        return self.counts.get((path, status), 0)


def handler_for(server: CalendarServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None,
                  content_type: str = "text/calendar; charset=utf-8") -> None:
            path = urlsplit(self.path).path
            server.counts[(path, status)] = server.counts.get((path, status), 0) + 1
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            # The client may have given up waiting (the timeout test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            server.requests.append((parts.path, dict(self.headers.items())))
            path = parts.path
            if path == "/etag.ics":
                # ETag-aware: 304 when the client shows the current tag.
                body = server.files.get(path, (FIXTURES / "expert.ics").read_bytes())
                tag = f'"v{hash(body) & 0xFFFF}"'
                if self.headers.get("If-None-Match") == tag:
                    self._send(304, headers={"ETag": tag})
                else:
                    self._send(200, body, {"ETag": tag,
                                           "Last-Modified": "Mon, 01 Feb 2027 00:00:00 GMT"})
            elif path == "/long-etag.ics":
                self._send(200, (FIXTURES / "expert.ics").read_bytes(),
                           {"ETag": '"' + "x" * 300 + '"', "Last-Modified": "y" * 100})
            elif path == "/redirect":
                self._send(302, headers={"Location": query["to"]})
            elif path == "/loop":
                self._send(302, headers={"Location": "/loop"})
            elif path == "/huge.ics":
                self._huge(declared=query.get("declared") == "1")
            elif path == "/page.html":
                self._send(200, b"<!DOCTYPE html><html><body>Sign in</body></html>",
                           content_type="text/html")
            elif path == "/garbage":
                self._send(200, bytes(range(256)) * 40, content_type="application/octet-stream")
            elif path == "/slow":
                time.sleep(float(query.get("seconds", "3")))
                self._send(200, (FIXTURES / "expert.ics").read_bytes())
            elif path == "/error":
                self._send(500, b"oops", content_type="text/plain")
            elif path in server.files:
                self._send(200, server.files[path])
            elif (FIXTURES / path.lstrip("/")).is_file():
                self._send(200, (FIXTURES / path.lstrip("/")).read_bytes())
            else:
                self._send(404, b"", content_type="text/plain")

        def _huge(self, declared: bool) -> None:
            """A 50 MB calendar: with its length announced, or streamed without one."""
            size = 50 * MB
            server.counts[("/huge.ics", 200)] = server.counts.get(("/huge.ics", 200), 0) + 1
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            if declared:
                self.send_header("Content-Length", str(size))
            else:
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            line = b"X-FILLER:" + b"x" * 1013 + b"\r\n"  # 1 KiB per line
            chunk = b"BEGIN:VCALENDAR\r\n" + line * (MB // len(line))
            try:
                for _ in range(size // len(chunk)):
                    if declared:
                        self.wfile.write(chunk)
                    else:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                if not declared:
                    self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as it should

    return Handler


@dataclass
class TlsServer:
    """The same fixtures over https, with a certificate for `localhost` from a test CA."""

    server: CalendarServer
    ca_file: str
