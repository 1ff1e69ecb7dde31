"""Subscriptions catch up (docs/live-updates.md "Catching up"): `after` replays what a client
missed, an overflowing queue is replayed instead of lost, and what cannot be replayed is
flagged `resync`. Run in-process (the schema's own subscribe, the in-process bus, the real
relay over the real database), so that the relay publishes exactly when the test says."""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.schema import schema
from core.clock import FrozenClock
from core.settings import get_settings
from models.accounts import Account
from models.outbox import OutboxEntry
from resolvers.context import Context
from schema.scalars import from_global_id
from subscriptions import bus as buses
from subscriptions.bus import InProcessBus, use_bus
from subscriptions.relay import Relay
from tests.support.backend import BACKEND
from tests.support.client import Market, at, market
from tests.support.clock import T0

CHANGES = """subscription($id: ID, $after: String) {
  meetingChanged(meetingId: $id, after: $after) {
    position resync event { kind } meeting { id status version } } }"""
NOTIFIED = """subscription($after: ID) { notificationReceived(after: $after) { id kind } }"""


@pytest.fixture
async def relay(orm: str) -> AsyncIterator[Relay]:
    await OutboxEntry.filter(delivered_at__isnull=True).update(delivered_at=T0)
    bus = InProcessBus()
    use_bus(bus)
    try:
        yield Relay(bus, lock_rows=BACKEND == "postgres")
    finally:
        use_bus(InProcessBus())


async def _subscribe(who: str, query: str, variables: dict[str, Any]
                     ) -> AsyncGenerator[Any, None]:
    account = await Account.get(id=from_global_id(who, "Account"))
    context = Context(settings=get_settings(), account=account)
    stream = await schema.subscribe(query, variable_values=variables, context_value=context)
    assert not isinstance(stream, type(None))
    return stream  # type: ignore[return-value]


async def _next(stream: Any) -> dict[str, Any]:
    result = await asyncio.wait_for(anext(stream), timeout=5)
    assert not result.errors, result.errors
    return result.data  # type: ignore[no-any-return]


async def _publish(relay: Relay) -> None:
    while await relay.deliver_pending():
        pass


async def _change(m: Market, step: int, meeting_id: str) -> None:
    """One change of the meeting by the expert: propose a new date / withdraw it."""
    if step % 2 == 0:
        result = await m.expert.mutate("rescheduleMeeting", {
            "meetingId": meeting_id, "startsAt": at(T0, days=5, hours=step).isoformat()},
            "RescheduleMeetingInput")
    else:
        result = await m.expert.mutate("cancelAlternativeDate", {"meetingId": meeting_id},
                                       "MeetingRefInput")
    assert result["errors"] == [], result


async def _agreed(client: httpx.AsyncClient) -> tuple[Market, str]:
    m = await market(client)
    meeting = (await m.request(at(T0, days=3)))["meeting"]
    assert (await m.expert.mutate("confirmMeeting", {"meetingId": meeting["id"]},
                                  "MeetingRefInput"))["errors"] == []
    return m, meeting["id"]


async def test_after_replays_what_was_missed(client: httpx.AsyncClient, frozen: FrozenClock,
                                             relay: Relay) -> None:
    m, mid = await _agreed(client)
    await _publish(relay)
    stream = await _subscribe(m.user.id, CHANGES, {"id": mid})
    pending = asyncio.ensure_future(_next(stream))
    await asyncio.sleep(0.05)  # subscribed
    await _change(m, 0, mid)
    await _publish(relay)
    seen = (await pending)["meetingChanged"]
    assert seen["resync"] is False
    position = seen["position"]
    await stream.aclose()  # the client goes away …

    for step in (1, 2, 3):  # … and misses three changes
        await _change(m, step, mid)
        await _publish(relay)
    missed = await _positions(mid, after=int(position))
    assert len(missed) == 3

    again = await _subscribe(m.user.id, CHANGES, {"id": mid, "after": position})
    seen: list[str] = []
    for _ in range(20):  # replayed first; a few from just before `after` may come again
        change = (await _next(again))["meetingChanged"]
        assert change["resync"] is False
        assert change["position"] not in seen  # never twice in one subscription
        seen.append(change["position"])
        if set(missed) <= set(seen):
            break
    assert [p for p in seen if p in missed] == missed  # in order
    assert change["meeting"]["version"] == (await _meeting_version(mid))
    # Then live as usual.
    pending = asyncio.ensure_future(_next(again))
    await asyncio.sleep(0.05)
    await _change(m, 4, mid)
    await _publish(relay)
    live = (await pending)["meetingChanged"]
    assert live["position"] == (await _positions(mid, after=int(missed[-1])))[0]
    await again.aclose()


async def _meeting_version(mid: str) -> int:
    from models.meetings import Meeting

    return (await Meeting.get(id=from_global_id(mid, "Meeting"))).version


async def _positions(mid: str, after: int) -> list[str]:
    """The meeting's MEETING_CHANGED outbox positions after `after`, oldest first."""
    pk = from_global_id(mid, "Meeting")
    rows = await OutboxEntry.filter(kind="MEETING_CHANGED", id__gt=after).order_by("id")
    return [str(r.id) for r in rows if r.payload["meeting_id"] == pk]


async def test_a_position_too_old_asks_for_a_refetch(client: httpx.AsyncClient,
                                                     frozen: FrozenClock,
                                                     relay: Relay) -> None:
    m, mid = await _agreed(client)
    await _publish(relay)
    [old] = [r for r in await OutboxEntry.filter(kind="MEETING_CHANGED").order_by("-id")
             .limit(5) if r.payload["meeting_id"] == from_global_id(mid, "Meeting")][:1]
    frozen.advance(timedelta(hours=get_settings().live_replay_hours, minutes=1))
    stream = await _subscribe(m.user.id, CHANGES, {"id": mid, "after": str(old.id)})
    first = (await _next(stream))["meetingChanged"]
    assert first["resync"] is True
    assert first["meeting"]["id"] == mid and first["meeting"]["status"] == "AGREED"
    await stream.aclose()
    unknown = await _subscribe(m.user.id, CHANGES, {"id": mid, "after": "999999999"})
    assert (await _next(unknown))["meetingChanged"]["resync"] is True
    await unknown.aclose()
    bad = await _subscribe(m.user.id, CHANGES, {"id": mid, "after": "-3"})
    result = await asyncio.wait_for(anext(bad), timeout=5)
    assert result.errors and result.errors[0].extensions["code"] == "INVALID_INPUT"


async def test_an_overflowing_queue_is_replayed_not_lost(
        client: httpx.AsyncClient, frozen: FrozenClock, relay: Relay,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buses, "QUEUE_SIZE", 2)
    m, mid = await _agreed(client)
    await _publish(relay)
    stream = await _subscribe(m.expert.id, CHANGES, {})  # every meeting of the expert's
    pending = asyncio.ensure_future(_next(stream))
    await asyncio.sleep(0.05)
    await _change(m, 0, mid)
    await _publish(relay)
    first = (await pending)["meetingChanged"]
    for step in range(1, 11):  # ten changes published in one batch: the queue holds two
        await _change(m, step, mid)
    await _publish(relay)
    missed = await _positions(mid, after=int(first["position"]))
    assert len(missed) == 10
    seen: list[str] = []
    for _ in range(40):
        change = (await _next(stream))["meetingChanged"]
        assert change["resync"] is False
        assert change["position"] not in seen
        seen.append(change["position"])
        if set(missed) <= set(seen):
            break
    assert [p for p in seen if p in missed] == missed
    await stream.aclose()


async def test_notifications_after_an_id(client: httpx.AsyncClient, frozen: FrozenClock,
                                         relay: Relay) -> None:
    m = await market(client)
    first = (await m.request(at(T0, days=3)))["meeting"]  # the expert is notified
    await _publish(relay)
    data = await m.expert.q("{ notifications(first: 1) { edges { node { id } } } }")
    [last_seen] = [e["node"]["id"] for e in data["notifications"]["edges"]]
    for days in (4, 5):  # two more while the expert is away
        await m.request(at(T0, days=days))
    await _publish(relay)
    stream = await _subscribe(m.expert.id, NOTIFIED, {"after": last_seen})
    ids = {(await _next(stream))["notificationReceived"]["id"] for _ in range(2)}
    assert last_seen not in ids and len(ids) == 2
    await stream.aclose()
    assert first
