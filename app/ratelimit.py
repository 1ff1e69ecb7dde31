"""Per-account rate limiting of mutations in Redis: a fixed window of
RATE_LIMIT_WINDOW_SECONDS holding at most RATE_LIMIT_MUTATIONS mutation fields per account
(an operation with three aliased mutations spends three). Accounts with the admin role (the
payment system's token, which tops up credits in bursts) have a budget of their own,
RATE_LIMIT_ADMIN_MUTATIONS, and none when it is 0. Budgets are keyed by the token's `sub`
under a prefix that names the deployment (see `Settings.rate_limit_key_prefix`).

Over budget, the whole operation is refused before it runs with a GraphQL error whose
`extensions` carry `code: RATE_LIMITED` and `retryAfter` (seconds); the view answers it with
HTTP 429 and `Retry-After` to clients that accept application/graphql-response+json. A
refusal is an expected client error: it is logged at INFO by the view, never at ERROR.
Off in the embedded default (no REDIS_URL). If Redis cannot be reached the request is let
through (and a warning logged): an outage of the limiter must not become an outage of the
API."""

import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, ExecutionResult, FieldNode, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from core.errors import RequestErrorCode
from core.settings import Settings
from models.accounts import Account
from schema.errors import request_error

log = logging.getLogger("meetings.ratelimit")
RATE_LIMITED = RequestErrorCode.RATE_LIMITED


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    retry_after: int


# INCRBY and EXPIRE atomically, as one command with one reply: a MULTI/EXEC pipeline sends
# four and parses four replies, which costs the server more CPU than Redis spends on them.
# The key names its window, so setting the expiry again is harmless. (redis-py's Script
# loads it again after a Redis restart emptied the script cache.)
_SPEND = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return count
"""


class RateLimiter:
    def __init__(self, redis_url: str, *, window_seconds: int, prefix: str) -> None:
        import redis.asyncio as redis

        self.window = max(1, window_seconds)
        self.prefix = prefix
        self.client = redis.Redis.from_url(redis_url, max_connections=16,
                                           socket_timeout=2.0, socket_connect_timeout=2.0)
        self._spend = self.client.register_script(_SPEND)

    async def hit(self, key: str, limit: int, cost: int = 1) -> Decision:
        now = time.time()
        window = int(now // self.window)
        name = f"{self.prefix}:{key}:{window}"
        count = await self._spend(keys=[name], args=[cost, self.window + 1])
        retry_after = max(1, math.ceil((window + 1) * self.window - now))
        return Decision(allowed=int(count) <= limit, count=int(count),
                        retry_after=retry_after)

    async def close(self) -> None:
        await self.client.aclose()


_limiters: dict[tuple[str, int, str], RateLimiter] = {}


@dataclass(frozen=True)
class Budget:
    limit: int
    setting: str


def budget_for(settings: Settings, account: Account) -> Budget | None:
    """The budget an account's mutations spend, None when they are not limited."""
    if account.is_admin:
        budget = Budget(settings.rate_limit_admin_mutations, "RATE_LIMIT_ADMIN_MUTATIONS")
    else:
        budget = Budget(settings.rate_limit_mutations, "RATE_LIMIT_MUTATIONS")
    return budget if budget.limit > 0 else None


def limiter_for(settings: Settings) -> RateLimiter | None:
    """One limiter (one connection pool) per configuration and process."""
    if not settings.redis_url:
        return None
    prefix = settings.rate_limit_key_prefix
    key = (settings.redis_url, settings.rate_limit_window_seconds, prefix)
    limiter = _limiters.get(key)
    if limiter is None:
        limiter = _limiters[key] = RateLimiter(
            settings.redis_url, window_seconds=settings.rate_limit_window_seconds,
            prefix=prefix)
    return limiter


async def close_all() -> None:
    while _limiters:
        _, limiter = _limiters.popitem()
        await limiter.close()


async def refusal(context: Any, document: DocumentNode | None,
                  operation_name: str | None) -> GraphQLError | None:
    """Spends the account's budget for a mutation (one per root field); the RATE_LIMITED
    error when it is spent, None when the mutation may run."""
    settings = getattr(context, "settings", None)
    account = getattr(context, "account", None)
    if not isinstance(settings, Settings) or account is None:
        return None
    limiter = limiter_for(settings)
    budget = budget_for(settings, account)
    if limiter is None or budget is None:
        return None
    operation = document and next(
        (d for d in document.definitions
         if getattr(d, "operation", None) is not None
         and (operation_name is None
              or getattr(getattr(d, "name", None), "value", None) == operation_name)),
        None)
    selections = getattr(getattr(operation, "selection_set", None), "selections", ())
    cost = max(1, sum(1 for s in selections if isinstance(s, FieldNode)))
    try:
        decision = await limiter.hit(f"sub:{account.key}", budget.limit, cost)
    except Exception as exc:  # noqa: BLE001 - fail open, see the module docstring
        log.warning("rate limiter unavailable (%s); letting the mutation through", exc)
        return None
    if decision.allowed:
        return None
    return request_error(
        RATE_LIMITED,
        f"Too many mutations: at most {budget.limit} per {limiter.window} s "
        f"({budget.setting}); try again in {decision.retry_after} s.",
        retry_after=decision.retry_after)


class RateLimitMutations(SchemaExtension):
    """`refusal` for operations run through Strawberry's Schema (WebSockets; HTTP calls it
    from app/operation.py)."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        if ec.operation_type is OperationType.MUTATION:
            refused = await refusal(ec.context, ec.graphql_document, ec.operation_name)
            if refused is not None:
                ec.result = ExecutionResult(data=None, errors=[refused])
        yield
