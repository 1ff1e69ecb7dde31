"""The checks around the §3 rows: pending alternatives, free dates, time conflicts, versions,
the order of checks, credits and self-booking."""

from typing import Any

import httpx
import pytest

from core.clock import FrozenClock
from tests.support.client import Market, Party, at, market, party
from tests.support.clock import T0
from tests.support.lifecycle import (
    ALT,
    NEW,
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

THU = at(T0, days=3)  # Thursday 2030-01-10 08:00 UTC
SAT = at(T0, days=5)


async def office_hours(m: Market) -> None:
    """The expert is free on weekdays 09:00–17:00 UTC only."""
    rules = ", ".join(f'{{weekday: {d}, startTime: "09:00", endTime: "17:00"}}'
                      for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"))
    data = await m.expert.q(f'mutation {{ setWeeklyAvailability(input: {{timezone: "UTC", '
                            f'rules: [{rules}]}}) {{ errors {{ code }} }} }}')
    assert data["setWeeklyAvailability"]["errors"] == []


async def count(who: Party) -> int:
    return int((await who.q("{ meetings { totalCount } }"))["meetings"]["totalCount"])


async def agreed_at(m: Market, starts_at: Any, user: Party | None = None) -> dict[str, Any]:
    meeting = ok(await m.request(starts_at, user))
    return ok(await act(m.expert, "confirmMeeting", meeting["id"]))


async def second_user(client: httpx.AsyncClient, m: Market, credits: int = 500) -> Party:
    other = await party(client)
    await m.grant(other, credits)
    return other


# --- ALTERNATIVE_PENDING and replacing one's own alternative -------------------------------


@pytest.mark.parametrize(("state", "who"), [("agreed_alt_expert", "user"),
                                            ("agreed_alt_user", "expert"),
                                            ("rejected_alt_user", "expert")])
async def test_alternative_pending(client: httpx.AsyncClient, frozen: FrozenClock, state: str,
                                   who: str) -> None:
    m = await market(client)
    meeting = await reach(m, state)
    notes = await notifications(m.user), await notifications(m.expert)
    payload = await act(party_of(m, who), "rescheduleMeeting", meeting["id"])
    assert error_codes(payload) == ["ALTERNATIVE_PENDING"]
    unchanged(meeting, await get(m.user, meeting["id"]))
    assert (await notifications(m.user), await notifications(m.expert)) == notes


@pytest.mark.parametrize(("state", "who"), [("agreed_alt_expert", "expert"),
                                            ("agreed_alt_user", "user"),
                                            ("proposed_alt_user", "user"),
                                            ("rejected_alt_user", "user")])
async def test_replace_own_alternative(client: httpx.AsyncClient, frozen: FrozenClock,
                                       state: str, who: str) -> None:
    m = await market(client)
    meeting = await reach(m, state)
    assert meeting["alternative"]["startsAt"] == iso(ALT)
    frozen.set(at(T0, hours=1))
    replaced = ok(await act(party_of(m, who), "rescheduleMeeting", meeting["id"],
                            startsAt=NEW.isoformat()))
    assert replaced["alternative"]["startsAt"] == iso(NEW)
    assert replaced["alternative"]["proposedBy"] == who.upper()
    assert replaced["alternative"]["proposedAt"] == iso(at(T0, hours=1))
    assert replaced["startsAt"] == meeting["startsAt"]
    assert replaced["status"] == meeting["status"]
    assert replaced["version"] == meeting["version"] + 1
    added = replaced["timeline"][len(meeting["timeline"]):]
    suffix = who.upper()
    assert [(e["kind"], e["startsAt"]) for e in added] == [
        (f"ALTERNATIVE_DATE_SELECTED_BY_{suffix}", iso(NEW)),
        (f"APPROVED_BY_{suffix}", iso(NEW))]


# --- OUTSIDE_AVAILABILITY ------------------------------------------------------------------


@pytest.mark.parametrize("starts_at", [
    at(THU, hours=0),  # 08:00, before the day's hours
    at(THU, hours=8, minutes=30),  # 16:30–17:30 runs past 17:00
    at(SAT, hours=2),  # Saturday 10:00
])
async def test_request_outside_free_dates(client: httpx.AsyncClient, frozen: FrozenClock,
                                          starts_at: Any) -> None:
    m = await market(client)
    await office_hours(m)
    payload = await m.request(starts_at)
    assert error_codes(payload) == ["OUTSIDE_AVAILABILITY"]
    assert payload["errors"][0]["field"] == "startsAt"
    assert await count(m.user) == 0
    assert await balances(m) == (500, 0, 0, 0)
    assert not await notifications(m.expert)
    assert ok(await m.request(at(THU, hours=8)))["status"] == "AWAITING_APPROVAL"  # 16:00–17:00


async def test_request_overlapping_an_agreed_meeting(client: httpx.AsyncClient,
                                                     frozen: FrozenClock) -> None:
    m = await market(client)
    other = await second_user(client, m)
    await agreed_at(m, at(THU, hours=2), other)  # 10:00–11:00
    for start in (at(THU, hours=2), at(THU, hours=2, minutes=30), at(THU, hours=1, minutes=1)):
        assert error_codes(await m.request(start)) == ["OUTSIDE_AVAILABILITY"]
    assert await count(m.user) == 0
    # Touching is not overlapping, and pending requests may overlap each other.
    ok(await m.request(at(THU, hours=3)))
    ok(await m.request(at(THU, hours=1)))
    ok(await m.request(at(THU, minutes=30), other))  # overlaps the pending 09:00 one
    assert await count(m.user) == 2


async def test_user_reschedule_must_fit(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    await office_hours(m)
    other = await second_user(client, m)
    await agreed_at(m, at(THU, days=1, hours=2), other)  # Friday 10:00
    agreed = await agreed_at(m, at(THU, hours=2))  # Thursday 10:00
    rejected = ok(await m.request(at(THU, hours=5)))
    rejected = ok(await act(m.expert, "declineMeeting", rejected["id"]))
    proposed = ok(await m.propose(at(THU, hours=6)))
    outside = (at(THU, hours=0), at(SAT, hours=2), at(THU, hours=8, minutes=1),
               at(THU, days=1, hours=2, minutes=30))  # overlaps the other user's meeting
    for meeting in (agreed, rejected, proposed):
        for start in outside:
            payload = await act(m.user, "rescheduleMeeting", meeting["id"],
                                startsAt=start.isoformat())
            assert error_codes(payload) == ["OUTSIDE_AVAILABILITY"], (meeting["status"], start)
            assert payload["errors"][0]["field"] == "startsAt"
        unchanged(meeting, await get(m.user, meeting["id"]))
    # A meeting's own slot does not make its new date taken.
    moved = ok(await act(m.user, "rescheduleMeeting", agreed["id"],
                         startsAt=at(THU, hours=2, minutes=30).isoformat()))
    assert moved["alternative"]["startsAt"] == iso(at(THU, hours=2, minutes=30))


async def test_expert_dates_need_not_fit(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    await office_hours(m)
    other = await second_user(client, m)
    taken = await agreed_at(m, at(THU, hours=2), other)
    agreed = await agreed_at(m, at(THU, hours=4))
    moved = ok(await act(m.expert, "rescheduleMeeting", agreed["id"],
                         startsAt=at(SAT, hours=-2).isoformat()))  # Friday 22:00
    assert moved["alternative"]["startsAt"] == iso(at(SAT, hours=-2))
    proposed = ok(await m.propose(at(THU, hours=2, minutes=30)))  # overlaps `taken`
    assert proposed["startsAt"] == iso(at(THU, hours=2, minutes=30))
    rejected = ok(await act(m.user, "declineMeeting", proposed["id"]))
    again = ok(await act(m.expert, "rescheduleMeeting", rejected["id"],
                         startsAt=at(THU, hours=2).isoformat()))
    assert again["startsAt"] == taken["startsAt"]


# --- TIME_CONFLICT warnings ----------------------------------------------------------------


async def test_expert_confirm_warns_of_overlap(client: httpx.AsyncClient,
                                               frozen: FrozenClock) -> None:
    m = await market(client)
    other = await second_user(client, m)
    first = ok(await m.request(at(THU, hours=2)))
    second = ok(await m.request(at(THU, hours=2, minutes=30), other))
    assert (await get(m.expert, second["id"]))["conflicts"] == []
    confirmed = await act(m.expert, "confirmMeeting", first["id"])
    assert confirmed["errors"] == [] and confirmed["warnings"] == []
    assert (await get(m.expert, second["id"]))["conflicts"] == [{"id": first["id"]}]
    payload = await act(m.expert, "confirmMeeting", second["id"])
    assert payload["errors"] == []
    assert payload["meeting"]["status"] == "AGREED"
    assert payload["warnings"] == [{"code": "TIME_CONFLICT",
                                    "conflictingMeetings": [{"id": first["id"]}]}]


async def test_user_confirm_warns_of_overlap(client: httpx.AsyncClient,
                                             frozen: FrozenClock) -> None:
    m = await market(client)
    booked = await agreed_at(m, at(THU, hours=2))
    m2 = await market(client, credits=0)
    proposal = ok(await m2.expert.mutate("proposeMeeting", {
        "userId": m.user.id, "serviceId": m2.service_id, "skillId": m2.skill_id,
        "startsAt": at(THU, hours=2, minutes=45).isoformat(), "lengthMinutes": 60,
        "priceCredits": 10}, "ProposeMeetingInput"))
    assert (await get(m.user, proposal["id"]))["conflicts"] == [{"id": booked["id"]}]
    payload = await act(m.user, "confirmMeeting", proposal["id"])
    assert payload["errors"] == []
    assert payload["warnings"] == [{"code": "TIME_CONFLICT",
                                    "conflictingMeetings": [{"id": booked["id"]}]}]


async def test_alternative_confirm_warns_of_overlap(client: httpx.AsyncClient,
                                                    frozen: FrozenClock) -> None:
    """A8′: the user's other agreed meeting overlaps the new date, not the old one."""
    m = await market(client)
    booked = await agreed_at(m, at(THU, hours=2))
    m2 = await market(client, credits=0)
    with_other = ok(await m2.expert.mutate("proposeMeeting", {
        "userId": m.user.id, "serviceId": m2.service_id, "skillId": m2.skill_id,
        "startsAt": at(THU, days=1).isoformat(), "lengthMinutes": 60,
        "priceCredits": 10}, "ProposeMeetingInput"))
    assert (await act(m.user, "confirmMeeting", with_other["id"]))["warnings"] == []
    ok(await act(m2.expert, "rescheduleMeeting", with_other["id"],
                 startsAt=at(THU, hours=2, minutes=30).isoformat()))
    payload = await act(m.user, "confirmAlternativeDate", with_other["id"])
    assert payload["errors"] == []
    assert payload["meeting"]["startsAt"] == iso(at(THU, hours=2, minutes=30))
    assert payload["warnings"] == [{"code": "TIME_CONFLICT",
                                    "conflictingMeetings": [{"id": booked["id"]}]}]


# --- STALE_VERSION and the order of checks -------------------------------------------------


async def test_stale_version(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = await reach(m, "requested")
    version = meeting["version"]
    for wrong in (version - 1, version + 1):
        payload = await act(m.expert, "confirmMeeting", meeting["id"], expectedVersion=wrong)
        assert error_codes(payload) == ["STALE_VERSION"]
        assert payload["errors"][0]["field"] == "expectedVersion"
    unchanged(meeting, await get(m.user, meeting["id"]))
    confirmed = ok(await act(m.expert, "confirmMeeting", meeting["id"],
                             expectedVersion=version))
    assert confirmed["version"] == version + 1
    # The user still holds the old version: refused, nothing changes.
    payload = await act(m.user, "cancelMeeting", meeting["id"], expectedVersion=version)
    assert error_codes(payload) == ["STALE_VERSION"]
    unchanged(confirmed, await get(m.user, meeting["id"]))
    assert await balances(m) == (450, 50, 0, 0)


async def test_order_of_checks(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    stranger = await party(client)
    cancelled = await reach(m, "cancelled")
    agreed = ok(await m.request(at(START, hours=3)))
    agreed = ok(await act(m.expert, "confirmMeeting", agreed["id"]))
    stale = cancelled["version"] - 1

    async def codes(who: Party, mutation: str, meeting: dict[str, Any],
                    **fields: Any) -> list[str]:
        return error_codes(await act(who, mutation, meeting["id"], **fields))

    # NOT_FOUND before STALE_VERSION (a stranger learns nothing).
    assert await codes(stranger, "confirmMeeting", cancelled, expectedVersion=stale) == [
        "NOT_FOUND"]
    # STALE_VERSION before INVALID_STATE.
    assert await codes(m.expert, "confirmMeeting", cancelled, expectedVersion=stale) == [
        "STALE_VERSION"]
    # INVALID_STATE before input errors (reason, date, late acknowledgement).
    assert await codes(m.expert, "declineMeeting", agreed, reasonCode="NOPE") == [
        "INVALID_STATE"]
    assert await codes(m.user, "rescheduleMeeting", cancelled,
                       startsAt=at(T0, days=-1).isoformat()) == ["INVALID_STATE"]
    assert await codes(m.user, "cancelMeeting", cancelled, reasonCode="NOPE") == [
        "INVALID_STATE"]
    assert await codes(m.user, "rejectAlternativeDate", agreed, reasonCode="NOPE") == [
        "INVALID_STATE"]

    frozen.set(START)  # `cancelled` has started, `agreed` has not
    # STALE_VERSION before MEETING_ALREADY_STARTED.
    assert await codes(m.user, "cancelMeeting", cancelled, expectedVersion=stale) == [
        "STALE_VERSION"]
    # MEETING_ALREADY_STARTED before INVALID_STATE.
    assert await codes(m.user, "cancelMeeting", cancelled) == ["MEETING_ALREADY_STARTED"]
    assert await codes(stranger, "cancelMeeting", cancelled) == ["NOT_FOUND"]
    # A late cancellation with an unknown reason: the reason is checked, nothing changes.
    payload = await act(m.user, "cancelMeeting", agreed["id"], reasonCode="NOPE")
    assert error_codes(payload) in (["INVALID_REASON"], ["LATE_CANCELLATION_NOT_ACKNOWLEDGED"])
    unchanged(agreed, await get(m.user, agreed["id"]))
    unchanged(cancelled, await get(m.user, cancelled["id"]))


# --- INSUFFICIENT_CREDITS and SELF_BOOKING -------------------------------------------------


async def test_request_needs_credits(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client, credits=49)
    payload = await m.request(START)
    assert error_codes(payload) == ["INSUFFICIENT_CREDITS"]
    assert payload["meeting"] is None
    assert await count(m.user) == 0 and await count(m.expert) == 0
    assert await balances(m) == (49, 0, 0, 0)
    assert not await notifications(m.expert)


async def test_user_confirm_needs_credits(client: httpx.AsyncClient,
                                          frozen: FrozenClock) -> None:
    m = await market(client, credits=30)
    proposal = ok(await m.propose(START))
    # availableActions reflects the lifecycle, not the balance.
    assert "CONFIRM" in (await get(m.user, proposal["id"]))["availableActions"]
    payload = await act(m.user, "confirmMeeting", proposal["id"])
    assert error_codes(payload) == ["INSUFFICIENT_CREDITS"]
    unchanged(proposal, await get(m.user, proposal["id"]))
    assert await balances(m) == (30, 0, 0, 0)
    await m.grant(m.user, 20)
    confirmed = ok(await act(m.user, "confirmMeeting", proposal["id"]))
    assert confirmed["creditPaymentStatus"] == "BLOCKED"
    assert await balances(m) == (0, 50, 0, 0)


async def test_confirm_alternative_from_rejected_needs_credits(
        client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client, credits=50)
    rejected = await reach(m, "rejected")
    assert await balances(m) == (50, 0, 0, 0)
    ok(await m.request(NEW))  # spends the returned credits
    pending = ok(await act(m.user, "rescheduleMeeting", rejected["id"],
                           startsAt=ALT.isoformat()))
    payload = await act(m.expert, "confirmAlternativeDate", rejected["id"])
    assert error_codes(payload) == ["INSUFFICIENT_CREDITS"]
    unchanged(pending, await get(m.user, rejected["id"]))
    assert await balances(m) == (0, 50, 0, 0)


async def test_confirm_counter_proposal_needs_credits(client: httpx.AsyncClient,
                                                      frozen: FrozenClock) -> None:
    m = await market(client, credits=0)
    pending = await reach(m, "proposed_alt_user")
    payload = await act(m.expert, "confirmAlternativeDate", pending["id"])
    assert error_codes(payload) == ["INSUFFICIENT_CREDITS"]
    unchanged(pending, await get(m.user, pending["id"]))


async def test_self_booking(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    await m.grant(m.expert, 500)
    payload = await m.request(START, m.expert)
    assert error_codes(payload) == ["SELF_BOOKING"]
    payload = await m.expert.mutate("proposeMeeting", {
        "userId": m.expert.id, "serviceId": m.service_id, "skillId": m.skill_id,
        "startsAt": START.isoformat(), "lengthMinutes": 60, "priceCredits": 50,
    }, "ProposeMeetingInput")
    assert error_codes(payload) == ["SELF_BOOKING"]
    assert await count(m.expert) == 0
    assert (await m.expert.credits()) == {"available": 500, "blocked": 0}
