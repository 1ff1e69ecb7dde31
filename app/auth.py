"""JWT authentication (SPEC §9). Development and tests: HS256 with a shared secret
(JWT_SECRET). Production: RS256 with the public keys of a JWKS URL (JWT_JWKS_URL), cached
and fetched again when a token names a key id the cache does not know (key rotation). The
audience and issuer are checked when configured (JWT_AUDIENCE, JWT_ISSUER); `exp` is always
required. The account is created on its first authenticated request from the token's claims.
"""

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
from tortoise.exceptions import IntegrityError

from core import clock
from core.settings import Settings
from core.transient import is_transient
from models.accounts import Account
from resolvers.context import Context
from resolvers.loaders import Loaders

log = logging.getLogger("meetings.auth")
JWKS_ALGORITHMS = ["RS256"]


@dataclass(frozen=True)
class Claims:
    sub: str
    name: str
    email: str
    tz: str | None
    is_admin: bool
    exp: float | None = None


class AuthError(Exception):
    pass


class JwksCache:
    """The signing keys of one JWKS URL. A known `kid` is served from memory; an unknown one
    fetches the set again (at most once per `min_refresh_seconds`, so that tokens with made-up
    key ids cannot make us hammer the key server), and the whole set is refreshed after
    `ttl_seconds`. The fetch is PyJWKClient's blocking urllib call, run in a thread so that
    the event loop never waits on the network; concurrent misses share one fetch."""

    def __init__(self, url: str, *, ttl_seconds: float = 300.0,
                 min_refresh_seconds: float = 10.0, timeout: float = 10.0) -> None:
        self.url = url
        self.ttl_seconds = ttl_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._client = jwt.PyJWKClient(url, cache_jwk_set=False, cache_keys=False,
                                       timeout=timeout)
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def key(self, kid: str | None) -> jwt.PyJWK:
        now = time.monotonic()
        if kid in self._keys and now - self._fetched_at < self.ttl_seconds:
            return self._keys[kid]
        async with self._lock:
            now = time.monotonic()
            stale = now - self._fetched_at >= self.ttl_seconds
            if stale or (kid not in self._keys
                         and now - self._fetched_at >= self.min_refresh_seconds):
                await self._refresh()
        if kid in self._keys:
            return self._keys[kid]
        raise AuthError("Invalid token: unknown signing key"
                        + (f" (kid {kid!r})" if kid else " (no kid)"))

    async def _refresh(self) -> None:
        try:
            data = await asyncio.to_thread(self._client.fetch_data)
            key_set = jwt.PyJWKSet.from_dict(data)
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, jwt.PyJWKError, OSError,
                ValueError) as exc:
            log.warning("JWKS fetch from %s failed: %s", self.url, exc)
            if not self._keys:
                raise AuthError("Cannot verify tokens now: the signing keys are unavailable.") \
                    from None
            return  # keep serving the keys we have
        self.fetches += 1
        keys: dict[str | None, jwt.PyJWK] = {
            k.key_id: k for k in key_set.keys if k.public_key_use in (None, "sig")}
        if len(keys) == 1:  # a single key also verifies tokens without a kid
            keys[None] = next(iter(keys.values()))
        self._keys = keys
        self._fetched_at = time.monotonic()


_jwks: dict[str, JwksCache] = {}


def jwks_for(url: str) -> JwksCache:
    cache = _jwks.get(url)
    if cache is None:
        cache = _jwks[url] = JwksCache(url)
    return cache


def _options(settings: Settings) -> dict[str, Any]:
    required = ["sub", "exp"]
    if settings.jwt_audience:
        required.append("aud")
    if settings.jwt_issuer:
        required.append("iss")
    return {"require": required}


def _claims(data: dict[str, Any]) -> Claims:
    roles = data.get("roles") or []
    return Claims(
        sub=str(data["sub"]),
        name=str(data.get("name") or data["sub"]),
        email=str(data.get("email") or ""),
        tz=data.get("tz"),
        is_admin=isinstance(roles, list) and "admin" in roles,
        exp=float(data["exp"]) if isinstance(data.get("exp"), int | float) else None,
    )


def _decode_with(token: str, key: Any, algorithms: list[str], settings: Settings) -> Claims:
    try:
        data = jwt.decode(
            token, key, algorithms=algorithms,
            audience=settings.jwt_audience, issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            options=_options(settings),  # type: ignore[arg-type]
        )
    except jwt.PyJWTError as exc:
        raise AuthError(f"Invalid token: {exc}") from None
    return _claims(data)


def decode(token: str, settings: Settings) -> Claims:
    """HS256 only (the shared secret): development, tests and `meetings token`."""
    return _decode_with(token, settings.jwt_secret, ["HS256"], settings)


async def verify(token: str, settings: Settings) -> Claims:
    """The request path: RS256 against the JWKS when JWT_JWKS_URL is set (and then only
    RS256: a shared-secret token is refused), HS256 with JWT_SECRET otherwise."""
    if not settings.jwt_jwks_url:
        return decode(token, settings)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(f"Invalid token: {exc}") from None
    if header.get("alg") not in JWKS_ALGORITHMS:
        raise AuthError(f"Invalid token: algorithm {header.get('alg')!r} is not accepted")
    key = await jwks_for(settings.jwt_jwks_url).key(header.get("kid"))
    return _decode_with(token, key.key, JWKS_ALGORITHMS, settings)


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def account_for(claims: Claims) -> Account:
    from models.freetime import valid_timezone

    tz = claims.tz if claims.tz and valid_timezone(claims.tz) else None
    account = await Account.get_or_none(key=claims.sub)
    if account is None:
        try:
            account = await Account.create(key=claims.sub, display_name=claims.name,
                                           email=claims.email, timezone=tz or "UTC",
                                           is_admin=claims.is_admin, created_at=clock.now())
        except IntegrityError:  # two first requests at once: the other one created it
            account = await Account.get(key=claims.sub)
        return account
    changed = {
        name: value
        for name, value in (("display_name", claims.name), ("email", claims.email),
                            ("timezone", tz), ("is_admin", claims.is_admin))
        if value is not None and getattr(account, name) != value
    }
    if changed:
        await Account.filter(id=account.id).update(**changed)
        for name, value in changed.items():
            setattr(account, name, value)
    return account


def make_token(settings: Settings, sub: str, *, name: str | None = None, email: str = "",
               tz: str | None = None, admin: bool = False, ttl_days: int = 30) -> str:
    claims: dict[str, object] = {"sub": sub, "name": name or sub, "email": email,
                                 "exp": int(time.time()) + ttl_days * 86400,
                                 "roles": ["admin"] if admin else []}
    if tz:
        claims["tz"] = tz
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


class _RecentTokens:
    """Tokens verified a moment ago, with their account: a client sends the same token with
    every request, and verifying it (signature, claims) and reading its account is most of
    a small query's cost. An entry lives at most TTL seconds and never past the token's
    `exp`; the account row depends only on the token's claims, so it cannot go stale."""

    TTL = 60.0
    SIZE = 4096

    def __init__(self) -> None:
        self.entries: OrderedDict[str, tuple[float, Account]] = OrderedDict()

    def get(self, token: str) -> Account | None:
        entry = self.entries.get(token)
        if entry is None:
            return None
        if entry[0] <= time.time():
            del self.entries[token]
            return None
        return entry[1]

    def put(self, token: str, claims: Claims, account: Account) -> None:
        until = time.time() + self.TTL
        if claims.exp is not None:
            until = min(until, claims.exp)
        self.entries[token] = (until, account)
        while len(self.entries) > self.SIZE:
            self.entries.popitem(last=False)


_recent = _RecentTokens()


async def authenticate(header: str | None, settings: Settings) -> Account:
    """The account behind an `Authorization: Bearer <JWT>` header (AuthError otherwise)."""
    token = bearer(header)
    if token is None:
        raise AuthError("Authentication required: send Authorization: Bearer <JWT>.")
    cached = _recent.get(token)
    if cached is not None:
        return cached
    claims = await verify(token, settings)
    account = await account_for(claims)
    _recent.put(token, claims, account)
    return account


class ServiceUnavailable(Exception):
    """The request cannot be served for an outage (authentication hit a database error)."""


_requests_log = logging.getLogger("meetings.requests")


async def authenticate_context(context: Context, header: str | None) -> None:
    """Puts the account behind an Authorization header, and its DataLoaders, into a request's
    context, or why there is none into `auth_error`. Raises ServiceUnavailable when the token
    cannot be checked for an outage (e.g. a token not seen lately while the database is
    down)."""
    try:
        context.account = await authenticate(header, context.settings)
    except AuthError as exc:
        context.auth_error = str(exc)
        return
    except Exception as exc:
        if is_transient(exc):
            _requests_log.warning("authentication unavailable: %r", exc)
            raise ServiceUnavailable(repr(exc)) from exc
        raise
    context.auth_error = None
    context.loaders = Loaders(context.account.id)
