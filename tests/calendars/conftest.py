"""Fixtures of the calendar tests: a real local HTTP server serving iCalendar fixtures (and the
bad answers a calendar URL can give). `env` and `smtp` come from tests/conftest.py."""

import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
import trustme

from tests.support.calendars import CalendarServer, TlsServer, handler_for


@pytest.fixture(scope="session")
def ics_server() -> Iterator[CalendarServer]:
    state = CalendarServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    ca = trustme.CA()
    certificate = ca.issue_cert("localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    state = CalendarServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield TlsServer(state, str(ca_file))
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def calendar_server(ics_server: CalendarServer) -> Iterator[CalendarServer]:
    """The session's server with a clean slate for one test."""
    ics_server.files.clear()
    ics_server.counts.clear()
    ics_server.requests.clear()
    yield ics_server
