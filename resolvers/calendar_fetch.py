"""Fetching an expert's calendar URL with httpx, guarded against server-side request forgery.

Whoever adds a busy calendar chooses the URL the server fetches, so in production only
``https://`` URLs whose host resolves to public addresses are fetched (unless settings allow
more networks or plain http). The check is made after DNS resolution and on every redirect,
and the connection goes to the very address that was checked (the host name stays in the
Host header and in TLS's SNI and certificate check), so a name that resolves once to a public
and then to a private address cannot slip through. Requests are conditional (ETag /
Last-Modified), bounded in time, size and redirects.
"""

import asyncio
import base64
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import httpx

from core.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
REDIRECTS = {301, 302, 303, 307, 308}
MAX_URL = 2048


class FetchError(Exception):
    """Why the URL could not be fetched, in words for the expert."""


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since the validators given
    etag: str | None
    last_modified: str | None


def normalized(url: str, settings: Settings) -> str:
    """The URL as it will be fetched (webcal:// is the calendar apps' spelling of https://);
    FetchError when it is not one this server may fetch."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise FetchError(f"The URL is longer than {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise FetchError("This is not a URL.") from None
    scheme = parts.scheme.lower()
    if scheme == "webcal":
        scheme = "https"
    if scheme not in ("http", "https") or not parts.hostname:
        raise FetchError("This is not an http(s) URL of a calendar.")
    if scheme == "http" and not settings.busy_calendar_http_allowed:
        raise FetchError("Only https:// calendar URLs are fetched.")
    normal = urlunsplit((scheme, parts.netloc, parts.path or "/", parts.query, ""))
    if len(normal) > MAX_URL:
        raise FetchError(f"The URL is longer than {MAX_URL} characters.")
    return normal


def allowed(address: IPAddress, networks: list[str]) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_global and not address.is_multicast:
        return True
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


async def _addresses(host: str, port: int, settings: Settings) -> list[IPAddress]:
    """The addresses of `host`, when every one of them may be fetched."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise FetchError(f"The host {host!r} could not be resolved.") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise FetchError(f"The host {host!r} could not be resolved.")
    for address in addresses:
        if not allowed(address, settings.busy_calendar_networks):
            raise FetchError(f"The host {host!r} is not on the public internet ({address}).")
    return list(dict.fromkeys(addresses))


async def _get(client: httpx.AsyncClient, url: str, headers: dict[str, str],
               settings: Settings) -> Fetched | str:
    """One request; the next URL when the answer is a redirect."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    port = parts.port or (443 if parts.scheme == "https" else 80)
    default_port = port == (443 if parts.scheme == "https" else 80)
    host = parts.hostname if default_port else f"{parts.hostname}:{port}"
    if ":" in parts.hostname and not parts.hostname.startswith("["):
        host = f"[{parts.hostname}]" if default_port else f"[{parts.hostname}]:{port}"
    addresses = await _addresses(parts.hostname, port, settings)
    for number, address in enumerate(addresses, 1):
        literal = f"[{address}]" if address.version == 6 else str(address)
        request = client.build_request(
            "GET", urlunsplit((parts.scheme, f"{literal}:{port}", parts.path, parts.query, "")),
            headers={**headers, "Host": host},
            extensions={"sni_hostname": parts.hostname} if parts.scheme == "https" else {})
        if parts.username:
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            request.headers["Authorization"] = f"Basic {base64.b64encode(pair).decode()}"
        try:
            response = await client.send(request, stream=True)
            break
        except httpx.ConnectError:  # try the host's next address (IPv4 after IPv6, say)
            if number == len(addresses):
                raise
    try:
        if response.status_code in REDIRECTS:
            location = response.headers.get("location")
            if not location:
                raise FetchError(f"The URL answered HTTP {response.status_code} without a "
                                 "Location.")
            return urljoin(url, location)
        if response.status_code == 304:
            return Fetched(None, headers.get("If-None-Match"), headers.get("If-Modified-Since"))
        if response.status_code != 200:
            raise FetchError(f"The URL answered HTTP {response.status_code}.")
        limit = settings.busy_calendar_max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(f"The calendar is larger than {limit} bytes.")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > limit:
                raise FetchError(f"The calendar is larger than {limit} bytes.")
        return Fetched(bytes(body), _validator(response.headers.get("etag"), 255),
                       _validator(response.headers.get("last-modified"), 64))
    finally:
        await response.aclose()


def _validator(value: str | None, longest: int) -> str | None:
    """A validator worth keeping for the next request (an outsized one is not)."""
    return value if value and len(value) <= longest else None


def _verify(settings: Settings) -> ssl.SSLContext | bool:
    if not settings.busy_calendar_ca_file:
        return True
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=settings.busy_calendar_ca_file)
    return context


async def fetch(url: str, settings: Settings, *, etag: str | None = None,
                last_modified: str | None = None) -> Fetched:
    headers = {"Accept": "text/calendar, */*;q=0.1", "User-Agent": "meetings-calendar/1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = settings.busy_calendar_timeout_seconds
    current = normalized(url, settings)
    try:
        # Each read has its own timeout; the deadline also bounds a server trickling bytes.
        async with asyncio.timeout(timeout * 3), httpx.AsyncClient(
                timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                verify=_verify(settings)) as client:
            for _ in range(settings.busy_calendar_max_redirects + 1):
                outcome = await _get(client, current, headers, settings)
                if isinstance(outcome, Fetched):
                    return outcome
                current = normalized(outcome, settings)
    except TimeoutError:
        raise FetchError("The calendar URL did not answer in time.") from None
    except httpx.TimeoutException:
        raise FetchError("The calendar URL did not answer in time.") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"The calendar URL could not be fetched: {str(exc)[:200]}") from None
    raise FetchError(
        f"The calendar URL redirected more than {settings.busy_calendar_max_redirects} times.")
