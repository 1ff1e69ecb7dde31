"""Per-account rate limiting of mutations in Redis: a fixed window of
RATE_LIMIT_WINDOW_SECONDS holding at most RATE_LIMIT_MUTATIONS mutation fields per account
(an operation with three aliased mutations spends three). Over budget, the whole operation is
refused before it runs, with a GraphQL error whose `extensions.code` is `RATE_LIMITED`.
Off in the embedded default (no REDIS_URL) and when the budget is 0. If Redis cannot be
reached the request is let through (and a warning logged): an outage of the limiter must not
become an outage of the API."""

import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import ExecutionResult, FieldNode
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from core.errors import RequestErrorCode
from core.settings import Settings
from schema.errors import request_error

log = logging.getLogger("meetings.ratelimit")
RATE_LIMITED = RequestErrorCode.RATE_LIMITED


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int


class RateLimiter:
    def __init__(self, redis_url: str, *, limit: int, window_seconds: int, prefix: str) -> None:
        import redis.asyncio as redis

        self.limit = limit
        self.window = max(1, window_seconds)
        self.prefix = prefix
        self.client = redis.Redis.from_url(redis_url, max_connections=16,
                                           socket_timeout=2.0, socket_connect_timeout=2.0)

    async def hit(self, key: str, cost: int = 1) -> Decision:
        now = time.time()
        window = int(now // self.window)
        name = f"{self.prefix}:{key}:{window}"
        # One round trip; the key names its window, so setting the expiry again is harmless.
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incrby(name, cost)
            pipe.expire(name, self.window + 1)
            count, _ = await pipe.execute()
        retry_after = max(1, math.ceil((window + 1) * self.window - now))
        return Decision(allowed=int(count) <= self.limit, count=int(count),
                        retry_after=retry_after)

    async def close(self) -> None:
        await self.client.aclose()


_limiters: dict[tuple[str, int, int, str], RateLimiter] = {}


def limiter_for(settings: Settings) -> RateLimiter | None:
    """One limiter (one connection pool) per configuration and process."""
    if not settings.redis_url or settings.rate_limit_mutations <= 0:
        return None
    key = (settings.redis_url, settings.rate_limit_mutations,
           settings.rate_limit_window_seconds, settings.rate_limit_prefix)
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = _limiters[key] = RateLimiter(
            settings.redis_url, limit=settings.rate_limit_mutations,
            window_seconds=settings.rate_limit_window_seconds,
            prefix=settings.rate_limit_prefix)
    return limiter


async def close_all() -> None:
    while _limiters:
        _, limiter = _limiters.popitem()
        await limiter.close()


class RateLimitMutations(SchemaExtension):
    """Spends the account's budget before a mutation executes; refuses it when spent."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context: Any = ec.context
        settings = getattr(context, "settings", None)
        account = getattr(context, "account", None)
        if (isinstance(settings, Settings) and account is not None
                and ec.operation_type is OperationType.MUTATION):
            limiter = limiter_for(settings)
            if limiter is not None:
                await self._check(limiter, account.id)
        yield

    async def _check(self, limiter: RateLimiter, account_id: Any) -> None:
        ec = self.execution_context
        operation = ec.graphql_document and next(
            (d for d in ec.graphql_document.definitions
             if getattr(d, "operation", None) is not None
             and (ec.operation_name is None
                  or getattr(getattr(d, "name", None), "value", None) == ec.operation_name)),
            None)
        selections = getattr(getattr(operation, "selection_set", None), "selections", ())
        cost = max(1, sum(1 for s in selections if isinstance(s, FieldNode)))
        try:
            decision = await limiter.hit(f"account:{account_id}", cost)
        except Exception as exc:  # noqa: BLE001 - fail open, see the module docstring
            log.warning("rate limiter unavailable (%s); letting the mutation through", exc)
            return
        if not decision.allowed:
            ec.result = ExecutionResult(data=None, errors=[request_error(
                RATE_LIMITED,
                f"Too many mutations: at most {limiter.limit} per {limiter.window} s "
                f"(RATE_LIMIT_MUTATIONS); try again in {decision.retry_after} s.")])
