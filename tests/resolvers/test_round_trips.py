"""Round trips to PostgreSQL per action, counted on the wire (every statement asyncpg sends,
BEGIN, SAVEPOINT and COMMIT included), like the list's statement count: a mutation's cost
on a shared database is mostly its sequential round trips. The budgets are today's counts;
a change that adds a round trip to an action has to say so here.

Before issue 11: confirmMeeting 15, declineMeeting 17, requestMeeting 22. Since: BEGIN, the
SET LOCAL timeouts and the first savepoint go as one script, no RELEASE SAVEPOINT
(core/db.py); a change's meeting UPDATE, ledger entries, reminders, notifications,
timeline events and outbox rows are one statement (resolvers/effects.record_change), and so
are its balance moves and the conflict checks of confirming or moving a meeting; the
parties' accounts and the reason come with the locked meeting."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.client import Market, at, market
from tests.support.clock import T0

pytestmark = pytest.mark.pg

# Round trips of one whole request (authentication excluded: a token seen in the last
# minute is not looked up again).
BUDGETS = {"confirmMeeting": 5, "declineMeeting": 6, "requestMeeting": 14}


_inside: ContextVar[bool] = ContextVar("inside_spied_call", default=False)


@contextmanager
def round_trips() -> Iterator[list[str]]:
    sent: list[str] = []
    connection = asyncpg.connection.Connection
    with pytest.MonkeyPatch.context() as patch:
        for name in ("execute", "_execute", "executemany"):
            original = getattr(connection, name)

            async def spy(self: Any, query: str, *args: Any, _original: Any = original,
                          **kwargs: Any) -> Any:
                # `execute` with arguments goes through `_execute`: one round trip.
                token = _inside.set(True) if not _inside.get() else None
                if token is not None:
                    sent.append(query)
                try:
                    return await _original(self, query, *args, **kwargs)
                finally:
                    if token is not None:
                        _inside.reset(token)

            patch.setattr(connection, name, spy)
        yield sent


async def _requested(m: Market, days: int) -> str:
    created = await m.request(at(T0, days=days))
    assert created["errors"] == []
    return str(created["meeting"]["id"])


async def test_round_trips_per_action_stay_within_budget(client: httpx.AsyncClient) -> None:
    m = await market(client, credits=1000)
    await m.expert.q("{ viewer { account { id } } }")  # warm the token cache
    await m.user.q("{ viewer { account { id } } }")
    counts: dict[str, list[str]] = {}
    with round_trips() as sent:
        await m.request(at(T0, days=2))
    counts["requestMeeting"] = list(sent)
    first, second = await _requested(m, 3), await _requested(m, 4)
    with round_trips() as sent:
        done = await m.expert.mutate("confirmMeeting", {"meetingId": first}, "MeetingRefInput")
    assert done["errors"] == []
    counts["confirmMeeting"] = list(sent)
    with round_trips() as sent:
        done = await m.expert.mutate("declineMeeting", {"meetingId": second,
                                                        "reasonCode": "NOT_AVAILABLE"},
                                     "DeclineMeetingInput")
    assert done["errors"] == []
    counts["declineMeeting"] = list(sent)
    over = {name: len(statements) for name, statements in counts.items()
            if len(statements) > BUDGETS[name]}
    assert not over, "\n".join(
        f"{name}: {len(counts[name])} round trips (budget {BUDGETS[name]}):\n  "
        + "\n  ".join(s.split("\n")[0][:120] for s in counts[name]) for name in over)
    assert all(len(s) > 3 for s in counts.values())  # the spy saw the statements
