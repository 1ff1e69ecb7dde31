"""Time in the lifecycle: the 48 h late-cancellation boundary (A6, A6′), meetings that have
started (MEETING_ALREADY_STARTED) and dates in the past (DATE_IN_PAST)."""

from datetime import timedelta

import httpx
import pytest

from core.clock import FrozenClock
from tests.support.client import at, market
from tests.support.clock import T0
from tests.support.lifecycle import (
    ACTIONS,
    START,
    act,
    balances,
    error_codes,
    get,
    iso,
    notifications,
    ok,
    party_of,
    reach,
    unchanged,
)

LATE_FROM = START - timedelta(hours=48)


@pytest.mark.parametrize("who", ["user", "expert"])
async def test_exactly_48h_before_is_not_late(client: httpx.AsyncClient, frozen: FrozenClock,
                                              who: str) -> None:
    m = await market(client)
    meeting = await reach(m, "agreed")
    frozen.set(LATE_FROM)
    policy = (await get(m.user, meeting["id"]))["cancellationPolicy"]
    assert policy == {"isLate": False, "lateFrom": iso(LATE_FROM)}
    cancelled = ok(await act(party_of(m, who), "cancelMeeting", meeting["id"]))
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["creditPaymentStatus"] == "RETURNED"
    assert await balances(m) == (500, 0, 0, 0)


@pytest.mark.parametrize("who", ["user", "expert"])
async def test_one_second_later_needs_acknowledgement(
        client: httpx.AsyncClient, frozen: FrozenClock, who: str) -> None:
    m = await market(client)
    meeting = await reach(m, "agreed")
    frozen.set(LATE_FROM + timedelta(seconds=1))
    for viewer in (m.user, m.expert):
        policy = (await get(viewer, meeting["id"]))["cancellationPolicy"]
        assert policy == {"isLate": True, "lateFrom": iso(LATE_FROM)}
    party = party_of(m, who)
    notes = await notifications(m.user), await notifications(m.expert)
    for acknowledge in (None, False):
        refused = await act(party, "cancelMeeting", meeting["id"],
                            acknowledgeLateCancellation=acknowledge)
        assert error_codes(refused) == ["LATE_CANCELLATION_NOT_ACKNOWLEDGED"]
        assert refused["errors"][0]["field"] == "acknowledgeLateCancellation"
    unchanged(meeting, await get(m.user, meeting["id"]))
    assert await balances(m) == (450, 50, 0, 0)
    assert (await notifications(m.user), await notifications(m.expert)) == notes

    cancelled = ok(await act(party, "cancelMeeting", meeting["id"],
                             acknowledgeLateCancellation=True))
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["version"] == meeting["version"] + 1
    if who == "expert":  # A6: an expert's cancellation always returns the credits
        assert cancelled["creditPaymentStatus"] == "RETURNED"
        assert await balances(m) == (500, 0, 0, 0)
    else:  # A6′ late, default policy `charge`: the price goes to the expert
        assert cancelled["creditPaymentStatus"] == "PAID"
        assert await balances(m) == (450, 0, 50, 0)


async def test_late_user_cancellation_capture_is_in_both_ledgers(
        client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = await reach(m, "agreed")
    frozen.set(at(START, hours=-1))
    ok(await act(m.user, "cancelMeeting", meeting["id"], acknowledgeLateCancellation=True))
    query = ("{ viewer { creditLedger(first: 10) { edges { node { kind availableDelta "
             "blockedDelta meeting { id } } } } } }")
    for who, delta in ((m.user, (0, -50)), (m.expert, (50, 0))):
        entries = [e["node"] for e in
                   (await who.q(query))["viewer"]["creditLedger"]["edges"]]
        captures = [(e["availableDelta"], e["blockedDelta"], e["meeting"]["id"])
                    for e in entries if e["kind"] == "CAPTURE"]
        assert captures == [(*delta, meeting["id"])]


async def test_not_late_user_cancellation_returns(client: httpx.AsyncClient,
                                                  frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = await reach(m, "agreed")
    frozen.set(at(LATE_FROM, minutes=-1))
    cancelled = ok(await act(m.user, "cancelMeeting", meeting["id"],
                             acknowledgeLateCancellation=True))
    assert cancelled["creditPaymentStatus"] == "RETURNED"
    assert await balances(m) == (500, 0, 0, 0)


async def test_late_withdrawal_of_an_unconfirmed_meeting_needs_no_acknowledgement(
        client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    """The 48 h rule is part of A6/A6′ (AGREED) only."""
    m = await market(client)
    requested, proposed = await reach(m, "requested"), ok(await m.propose(at(START, hours=2)))
    frozen.set(at(START, hours=-1))
    assert ok(await act(m.user, "cancelMeeting", requested["id"],
                        reasonCode=None))["status"] == "CANCELLED"
    assert ok(await act(m.expert, "cancelMeeting", proposed["id"],
                        reasonCode=None))["status"] == "CANCELLED"


# --- MEETING_ALREADY_STARTED ---------------------------------------------------------------


@pytest.mark.parametrize("state", ["requested", "agreed", "agreed_alt_user",
                                   "agreed_alt_expert", "cancelled"])
async def test_started_meeting_refuses_every_action(
        client: httpx.AsyncClient, frozen: FrozenClock, state: str) -> None:
    m = await market(client)
    meeting = await reach(m, state)
    balance = await balances(m)
    frozen.set(START)
    for who in ("user", "expert"):
        party = party_of(m, who)
        assert (await get(party, meeting["id"]))["availableActions"] == []
        for mutation in ACTIONS:
            payload = await act(party, mutation, meeting["id"],
                                startsAt=at(START, days=1).isoformat()
                                if mutation == "rescheduleMeeting" else None,
                                acknowledgeLateCancellation=True
                                if mutation == "cancelMeeting" else None)
            assert error_codes(payload) == ["MEETING_ALREADY_STARTED"], (who, mutation)
    unchanged(meeting, await get(m.user, meeting["id"]))
    assert await balances(m) == balance


async def test_one_second_before_start_is_not_started(client: httpx.AsyncClient,
                                                      frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = await reach(m, "requested")
    frozen.set(START - timedelta(seconds=1))
    assert ok(await act(m.expert, "confirmMeeting", meeting["id"]))["status"] == "AGREED"


# --- DATE_IN_PAST --------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=-1)])
async def test_request_in_the_past(client: httpx.AsyncClient, frozen: FrozenClock,
                                   offset: timedelta) -> None:
    m = await market(client)
    payload = await m.request(T0 + offset)
    assert error_codes(payload) == ["DATE_IN_PAST"]
    assert payload["errors"][0]["field"] == "startsAt"
    assert await balances(m) == (500, 0, 0, 0)
    assert (await m.user.q("{ meetings { totalCount } }"))["meetings"]["totalCount"] == 0


async def test_propose_in_the_past(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    payload = await m.propose(at(T0, minutes=-30))
    assert error_codes(payload) == ["DATE_IN_PAST"]
    assert (await m.user.q("{ meetings { totalCount } }"))["meetings"]["totalCount"] == 0


@pytest.mark.parametrize(("state", "who"), [("agreed", "expert"), ("rejected", "expert"),
                                            ("agreed", "user"), ("proposed", "user"),
                                            ("rejected", "user")])
async def test_reschedule_to_the_past(client: httpx.AsyncClient, frozen: FrozenClock,
                                      state: str, who: str) -> None:
    m = await market(client)
    meeting = await reach(m, state)
    frozen.set(at(T0, days=1))
    for past in (at(T0, days=1), at(T0, hours=12)):
        payload = await act(party_of(m, who), "rescheduleMeeting", meeting["id"],
                            startsAt=past.isoformat())
        assert error_codes(payload) == ["DATE_IN_PAST"]
        assert payload["errors"][0]["field"] == "startsAt"
    unchanged(meeting, await get(m.user, meeting["id"]))
