"""Fetching calendar URLs (resolvers/calendar_fetch.py) from a real local HTTP server:
conditional requests, size and redirect limits, timeouts, and the SSRF guard."""

import ipaddress
from collections.abc import Callable

import pytest

from core.settings import get_settings
from resolvers.calendar_fetch import FetchError, allowed, fetch, normalized
from tests.support.calendars import FIXTURES, CalendarServer, TlsServer


async def test_fetches_a_calendar(calendar_server: CalendarServer) -> None:
    fetched = await fetch(calendar_server.url("/expert.ics"), get_settings())
    assert fetched.body == (FIXTURES / "expert.ics").read_bytes()


async def test_etag_is_reused_and_answered_with_304(calendar_server: CalendarServer) -> None:
    url = calendar_server.url("/etag.ics")
    first = await fetch(url, get_settings())
    assert first.body and first.etag and first.last_modified
    again = await fetch(url, get_settings(), etag=first.etag, last_modified=first.last_modified)
    assert again.body is None
    headers = calendar_server.requests[-1][1]
    assert headers["If-None-Match"] == first.etag
    assert headers["If-Modified-Since"] == first.last_modified
    assert (calendar_server.count("/etag.ics", 200), calendar_server.count("/etag.ics", 304)) \
        == (1, 1)


async def test_an_outsized_validator_is_not_kept(calendar_server: CalendarServer) -> None:
    fetched = await fetch(calendar_server.url("/long-etag.ics"), get_settings())
    assert fetched.body and fetched.etag is None and fetched.last_modified is None


@pytest.mark.parametrize("declared", ["1", "0"])
async def test_a_50_mb_body_is_refused_without_reading_it_all(
        calendar_server: CalendarServer, declared: str) -> None:
    with pytest.raises(FetchError, match="larger than 5000000 bytes"):
        await fetch(calendar_server.url(f"/huge.ics?declared={declared}"), get_settings())


async def test_redirects_are_followed_and_bounded(calendar_server: CalendarServer) -> None:
    target = calendar_server.url("/expert.ics")
    fetched = await fetch(calendar_server.url(f"/redirect?to={target}"), get_settings())
    assert fetched.body == (FIXTURES / "expert.ics").read_bytes()
    with pytest.raises(FetchError, match="redirected more than 5 times"):
        await fetch(calendar_server.url("/loop"), get_settings())
    assert calendar_server.count("/loop", 302) == 6


async def test_error_statuses_and_timeouts_are_told(calendar_server: CalendarServer,
                                                    env: Callable[..., None]) -> None:
    with pytest.raises(FetchError, match="HTTP 500"):
        await fetch(calendar_server.url("/error"), get_settings())
    with pytest.raises(FetchError, match="HTTP 404"):
        await fetch(calendar_server.url("/nothing-here.ics"), get_settings())
    env(busy_calendar_timeout_seconds=0.3)
    with pytest.raises(FetchError, match="did not answer in time"):
        await fetch(calendar_server.url("/slow?seconds=2"), get_settings())


@pytest.mark.parametrize("url", ["not a url", "ftp://example.com/cal.ics", "https://",
                                 "mailto:someone@example.com", "http://host:99999/x"])
def test_what_is_not_a_calendar_url_is_refused(url: str) -> None:
    with pytest.raises(FetchError):
        normalized(url, get_settings())


def test_webcal_means_https() -> None:
    assert normalized("webcal://calendar.example.com/a.ics", get_settings()) \
        == "https://calendar.example.com/a.ics"


# --- production: https only, public addresses only (SSRF) ---------------------------------------


async def test_production_refuses_plain_http(env: Callable[..., None]) -> None:
    env(environment="production")
    with pytest.raises(FetchError, match="Only https://"):
        await fetch("http://calendar.example.com/a.ics", get_settings())


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.1.2.3", "169.254.169.254",
                                  "[::1]", "[::ffff:127.0.0.1]", "192.168.0.10", "0.0.0.0"])
async def test_production_refuses_private_addresses_after_resolving(
        env: Callable[..., None], host: str) -> None:
    env(environment="production")
    with pytest.raises(FetchError, match="not on the public internet"):
        await fetch(f"https://{host}/calendar.ics", get_settings())


async def test_every_redirect_is_checked(calendar_server: CalendarServer,
                                         env: Callable[..., None]) -> None:
    # Production with plain http allowed and one loopback address opened by the setting: a
    # redirect from there to another loopback address is refused before it is requested.
    env(environment="production", busy_calendar_allow_http="true",
        busy_calendar_allowed_networks="127.0.0.1/32")
    assert (await fetch(calendar_server.url("/expert.ics"), get_settings())).body
    elsewhere = calendar_server.url("/expert.ics", host="127.0.0.2")
    with pytest.raises(FetchError, match=r"not on the public internet \(127\.0\.0\.2\)"):
        await fetch(calendar_server.url(f"/redirect?to={elsewhere}"), get_settings())
    assert calendar_server.count("/expert.ics", 200) == 1


async def test_https_connects_to_the_checked_address_and_verifies_the_host_name(
        tls_server: TlsServer, env: Callable[..., None]) -> None:
    # Production rules, with loopback opened and the test CA trusted: the request goes to the
    # address that was checked while TLS (SNI and the certificate) still speaks of `localhost`.
    env(environment="production", busy_calendar_allowed_networks="127.0.0.0/8,::1/128",
        busy_calendar_ca_file=tls_server.ca_file)
    url = tls_server.server.url("/expert.ics", host="localhost", scheme="https")
    fetched = await fetch(url, get_settings())
    assert fetched.body == (FIXTURES / "expert.ics").read_bytes()
    assert tls_server.server.requests[-1][1]["Host"] == f"localhost:{tls_server.server.port}"
    # The certificate names localhost only: the same server under another name is refused.
    with pytest.raises(FetchError, match="could not be fetched"):
        await fetch(tls_server.server.url("/expert.ics", scheme="https"), get_settings())
    env(busy_calendar_ca_file=None)  # and an unknown CA is refused too
    with pytest.raises(FetchError, match="could not be fetched"):
        await fetch(url, get_settings())


def test_public_addresses_are_allowed_and_mapped_ones_judged_as_ipv4() -> None:
    assert allowed(ipaddress.ip_address("93.184.216.34"), [])
    assert allowed(ipaddress.ip_address("2606:4700::1111"), [])
    assert not allowed(ipaddress.ip_address("::ffff:10.0.0.1"), [])
    assert not allowed(ipaddress.ip_address("fd00::1"), [])
    assert not allowed(ipaddress.ip_address("224.0.0.1"), [])
    assert allowed(ipaddress.ip_address("10.0.0.1"), ["10.0.0.0/8"])
