"""RS256 tokens verified against a JWKS served by a local HTTP server (SPEC §9)."""

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from app import auth
from tests.support.security import SECRET, app_client, gql, settings_with

AUD, ISS = "meetings-api", "https://id.example.test/"
VIEWER = "{ viewer { account { id displayName } } }"


class Key:
    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex[:8]
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        data = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def sign(self, *, aud: str = AUD, iss: str = ISS, exp_in: int = 600,
             kid: str | None = None, sub: str | None = None) -> str:
        claims = {"sub": sub or f"rs-{uuid.uuid4().hex[:8]}", "name": "RS User",
                  "aud": aud, "iss": iss, "exp": int(time.time()) + exp_in}
        return jwt.encode(claims, self.private, algorithm="RS256",
                          headers={"kid": kid or self.kid})


class JwksServer:
    def __init__(self, keys: list[Key], delay: float = 0.0) -> None:
        self.keys, self.delay, self.hits = keys, delay, 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.hits += 1
                time.sleep(outer.delay)
                body = json.dumps({"keys": [k.jwk() for k in outer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "JwksServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def key() -> Key:
    return Key()


@pytest.fixture
def jwks(key: Key) -> Iterator[JwksServer]:
    with JwksServer([key]) as server:
        yield server


def _settings(jwks: JwksServer) -> Any:
    return settings_with(jwt_jwks_url=jwks.url, jwt_audience=AUD, jwt_issuer=ISS,
                         jwt_secret=SECRET)


def _code(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]  # type: ignore[no-any-return]


async def test_valid_rs256_token_is_accepted_and_keys_are_cached(
        orm: str, jwks: JwksServer, key: Key) -> None:
    async with app_client(_settings(jwks)) as http:
        for _ in range(3):
            body = await gql(http, VIEWER, bearer=key.sign(sub="rs-same-user"))
            assert body["data"]["viewer"]["account"]["displayName"] == "RS User", body
    assert jwks.hits == 1  # fetched once, then served from memory


@pytest.mark.parametrize("bad", [
    {"aud": "someone-else"}, {"iss": "https://evil.example/"}, {"exp_in": -3600},
    {"kid": "unknown-kid"},
])
async def test_bad_tokens_are_unauthenticated(orm: str, jwks: JwksServer, key: Key,
                                              bad: dict[str, Any]) -> None:
    async with app_client(_settings(jwks)) as http:
        body = await gql(http, VIEWER, bearer=key.sign(**bad))
    assert body["data"] is None
    assert _code(body) == "UNAUTHENTICATED", body


async def test_token_signed_by_a_stranger_key_with_a_known_kid_is_refused(
        orm: str, jwks: JwksServer, key: Key) -> None:
    forged = Key().sign(kid=key.kid)
    async with app_client(_settings(jwks)) as http:
        body = await gql(http, VIEWER, bearer=forged)
    assert _code(body) == "UNAUTHENTICATED"
    assert "Signature" in body["errors"][0]["message"]


async def test_shared_secret_tokens_are_refused_when_a_jwks_is_configured(
        orm: str, jwks: JwksServer) -> None:
    settings = _settings(jwks)
    hs = jwt.encode({"sub": "x", "aud": AUD, "iss": ISS, "exp": int(time.time()) + 60},
                    SECRET, algorithm="HS256")
    no_exp = Key()
    jwks.keys.append(no_exp)
    unexpiring = jwt.encode({"sub": "x", "aud": AUD, "iss": ISS}, no_exp.private,
                            algorithm="RS256", headers={"kid": no_exp.kid})
    async with app_client(settings) as http:
        assert _code(await gql(http, VIEWER, bearer=hs)) == "UNAUTHENTICATED"
        body = await gql(http, VIEWER, bearer=unexpiring)
    assert _code(body) == "UNAUTHENTICATED"
    assert "exp" in body["errors"][0]["message"]


async def test_key_rotation_is_picked_up(orm: str, jwks: JwksServer, key: Key) -> None:
    settings = _settings(jwks)
    auth.jwks_for(jwks.url).min_refresh_seconds = 0.2
    async with app_client(settings) as http:
        assert "data" in await gql(http, VIEWER, bearer=key.sign())
        new = Key()
        jwks.keys[:] = [new]  # the identity provider rotates: the old key is gone
        await asyncio.sleep(0.25)
        body = await gql(http, VIEWER, bearer=new.sign())
        assert body.get("errors") is None, body
        assert jwks.hits == 2
        # A burst of made-up key ids within the refresh interval fetches at most once.
        for _ in range(5):
            assert _code(await gql(http, VIEWER, bearer=new.sign(kid="made-up"))) \
                == "UNAUTHENTICATED"
        assert jwks.hits <= 3


async def test_jwks_fetch_does_not_block_the_event_loop(orm: str, key: Key) -> None:
    with JwksServer([key], delay=0.5) as slow:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        try:
            async with app_client(_settings(slow)) as http:
                body = await gql(http, VIEWER, bearer=key.sign())
        finally:
            task.cancel()
    assert body.get("errors") is None, body
    assert ticks >= 20  # the loop kept running during the half-second fetch


async def test_unreachable_jwks_is_unauthenticated_not_a_crash(orm: str, key: Key) -> None:
    settings = settings_with(jwt_jwks_url="http://127.0.0.1:9/jwks.json", jwt_audience=AUD,
                             jwt_issuer=ISS, jwt_secret=SECRET)
    async with app_client(settings) as http:
        body = await gql(http, VIEWER, bearer=key.sign())
    assert _code(body) == "UNAUTHENTICATED"
    assert "signing keys" in body["errors"][0]["message"]
