"""SPEC §3, row by row, through the HTTP API: every allowed action for its party (state,
approvals, alternative, credits, timeline events and labels, notification), and every
action refused in every other reachable state (INVALID_STATE / ALTERNATIVE_PENDING, nothing
changed).

The expectations are written out from the SPEC here, not derived from models/lifecycle.py,
so that a wrong rule there makes a test fail.

Their helpers are tests/support/lifecycle.py, shared with the other test_lifecycle_* files.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock
from tests.support.client import at, market
from tests.support.clock import T0
from tests.support.lifecycle import (
    ACTIONS,
    ALT,
    DEFAULT_INPUT,
    NEW,
    START,
    STATES,
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

# --- 1. the allowed case of every row ------------------------------------------------------


@dataclass(frozen=True)
class Row:
    code: str
    state: str
    who: str
    mutation: str
    status: str
    approved: tuple[bool, bool]  # (user, expert)
    credit: str
    user_credits: tuple[int, int]  # (available, blocked); the user was granted 500
    events: tuple[tuple[str, str | None], ...]  # (kind, label the SPEC names, if any)
    notify: str | None  # the kind the other party receives
    starts_at: datetime = START
    alternative: tuple[str, datetime] | None = None  # (proposedBy, startsAt)
    event_date: datetime | None = None  # what the events' startsAt speak of
    conference: str | None = None  # "created" (PENDING or CREATED) or "CANCELLED"
    input: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # the reason code kept on the meeting


ROWS = (
    Row("A2", "requested", "expert", "confirmMeeting", "AGREED", (True, True), "BLOCKED",
        (450, 50), (("APPROVED_BY_EXPERT", "Expert Approval"),), "MEETING_CONFIRMED",
        conference="created"),
    Row("A2′", "proposed", "user", "confirmMeeting", "AGREED", (True, True), "BLOCKED",
        (450, 50), (("APPROVED_BY_USER", None),), "MEETING_CONFIRMED", conference="created"),
    Row("A3", "requested", "expert", "declineMeeting", "REJECTED", (True, False), "RETURNED",
        (500, 0), (("REJECTED_BY_EXPERT", "Rejected by Expert"),), "MEETING_DECLINED",
        input={"reasonCode": "OUT_OF_SCOPE", "note": "not my field"}, reason="OUT_OF_SCOPE"),
    Row("A3′", "proposed", "user", "declineMeeting", "REJECTED", (False, True), "NONE",
        (500, 0), (("REJECTED_BY_USER", None),), "MEETING_DECLINED",
        input={"reasonCode": "NOT_AVAILABLE"}, reason="NOT_AVAILABLE"),
    Row("A5", "proposed", "expert", "cancelMeeting", "CANCELLED", (False, True), "NONE",
        (500, 0), (("CANCELLED_BY_EXPERT", None),), "MEETING_CANCELLED",
        input={"reasonCode": None}),
    Row("A5′", "requested", "user", "cancelMeeting", "CANCELLED", (True, False), "RETURNED",
        (500, 0), (("CANCELLED_BY_USER", None),), "MEETING_CANCELLED",
        input={"reasonCode": None}),
    Row("A6", "agreed", "expert", "cancelMeeting", "CANCELLED", (True, True), "RETURNED",
        (500, 0), (("CANCELLED_BY_EXPERT", "Cancellation by Expert"),), "MEETING_CANCELLED",
        conference="CANCELLED", input={"reasonCode": "ILLNESS"}, reason="ILLNESS"),
    Row("A6′", "agreed", "user", "cancelMeeting", "CANCELLED", (True, True), "RETURNED",
        (500, 0), (("CANCELLED_BY_USER", None),), "MEETING_CANCELLED",
        conference="CANCELLED", reason="SCHEDULE_CONFLICT"),
    # A pending alternative is dropped by a cancellation, which records only itself.
    Row("A6 (alt)", "agreed_alt_expert", "expert", "cancelMeeting", "CANCELLED", (True, True),
        "RETURNED", (500, 0), (("CANCELLED_BY_EXPERT", "Cancellation by Expert"),),
        "MEETING_CANCELLED", conference="CANCELLED", reason="SCHEDULE_CONFLICT"),
    Row("A6′ (alt)", "agreed_alt_user", "user", "cancelMeeting", "CANCELLED", (True, True),
        "RETURNED", (500, 0), (("CANCELLED_BY_USER", None),), "MEETING_CANCELLED",
        conference="CANCELLED", reason="SCHEDULE_CONFLICT"),
    Row("A7 from REJECTED", "rejected", "expert", "rescheduleMeeting", "AWAITING_APPROVAL",
        (False, True), "RETURNED", (500, 0),
        (("ALTERNATIVE_DATE_SELECTED_BY_EXPERT", None), ("APPROVED_BY_EXPERT", None)),
        "RESCHEDULED_REJECTED_BY_EXPERT", starts_at=NEW, event_date=NEW),
    Row("A7 from AGREED", "agreed", "expert", "rescheduleMeeting", "AGREED", (True, True),
        "BLOCKED", (450, 50),
        (("ALTERNATIVE_DATE_SELECTED_BY_EXPERT", None), ("APPROVED_BY_EXPERT", None)),
        "RESCHEDULED_AGREED_BY_EXPERT", alternative=("EXPERT", NEW), event_date=NEW,
        conference="created"),
    Row("A7′ from AGREED", "agreed", "user", "rescheduleMeeting", "AGREED", (True, True),
        "BLOCKED", (450, 50),
        (("ALTERNATIVE_DATE_SELECTED_BY_USER", None), ("APPROVED_BY_USER", None)),
        "ALTERNATIVE_DATE_PROPOSED", alternative=("USER", NEW), event_date=NEW,
        conference="created"),
    Row("A7′ counter-proposal", "proposed", "user", "rescheduleMeeting", "AWAITING_APPROVAL",
        (False, True), "NONE", (500, 0),
        (("ALTERNATIVE_DATE_SELECTED_BY_USER", None), ("APPROVED_BY_USER", None)),
        "ALTERNATIVE_DATE_PROPOSED", alternative=("USER", NEW), event_date=NEW),
    Row("A7′ from REJECTED", "rejected", "user", "rescheduleMeeting", "REJECTED",
        (True, False), "RETURNED", (500, 0),
        (("ALTERNATIVE_DATE_SELECTED_BY_USER", None), ("APPROVED_BY_USER", None)),
        "ALTERNATIVE_DATE_PROPOSED", alternative=("USER", NEW), event_date=NEW),
    Row("A8 from AGREED", "agreed_alt_user", "expert", "confirmAlternativeDate", "AGREED",
        (True, True), "BLOCKED", (450, 50),
        (("ALTERNATIVE_DATE_APPROVED_BY_EXPERT", "Approval of alternative date by expert"),),
        "ALTERNATIVE_DATE_CONFIRMED", starts_at=ALT, event_date=ALT, conference="created"),
    Row("A8 on a counter-proposal", "proposed_alt_user", "expert", "confirmAlternativeDate",
        "AGREED", (True, True), "BLOCKED", (450, 50),
        (("ALTERNATIVE_DATE_APPROVED_BY_EXPERT", "Approval of alternative date by expert"),),
        "ALTERNATIVE_DATE_CONFIRMED", starts_at=ALT, event_date=ALT, conference="created"),
    Row("A8 from REJECTED", "rejected_alt_user", "expert", "confirmAlternativeDate", "AGREED",
        (True, True), "BLOCKED", (450, 50),
        (("ALTERNATIVE_DATE_APPROVED_BY_EXPERT", "Approval of alternative date by expert"),),
        "ALTERNATIVE_DATE_CONFIRMED", starts_at=ALT, event_date=ALT, conference="created"),
    Row("A8′", "agreed_alt_expert", "user", "confirmAlternativeDate", "AGREED", (True, True),
        "BLOCKED", (450, 50), (("ALTERNATIVE_DATE_APPROVED_BY_USER", None),),
        "ALTERNATIVE_DATE_CONFIRMED", starts_at=ALT, event_date=ALT, conference="created"),
    Row("A9 from AGREED", "agreed_alt_user", "expert", "rejectAlternativeDate", "REJECTED",
        (True, True), "RETURNED", (500, 0),
        (("ALTERNATIVE_DATE_REJECTED_BY_EXPERT", "Expert Rejection of Alternate Appointment"),),
        "ALTERNATIVE_DATE_REJECTED", conference="CANCELLED", reason="NOT_AVAILABLE"),
    Row("A9 on a counter-proposal", "proposed_alt_user", "expert", "rejectAlternativeDate",
        "REJECTED", (False, True), "NONE", (500, 0),
        (("ALTERNATIVE_DATE_REJECTED_BY_EXPERT", "Expert Rejection of Alternate Appointment"),),
        "ALTERNATIVE_DATE_REJECTED", reason="NOT_AVAILABLE"),
    Row("A9 from REJECTED", "rejected_alt_user", "expert", "rejectAlternativeDate", "REJECTED",
        (True, False), "RETURNED", (500, 0),
        (("ALTERNATIVE_DATE_REJECTED_BY_EXPERT", "Expert Rejection of Alternate Appointment"),),
        "ALTERNATIVE_DATE_REJECTED", input={"reasonCode": "OUT_OF_SCOPE"},
        reason="OUT_OF_SCOPE"),
    Row("A9′", "agreed_alt_expert", "user", "rejectAlternativeDate", "AGREED", (True, True),
        "BLOCKED", (450, 50), (("ALTERNATIVE_DATE_REJECTED_BY_USER", None),),
        "ALTERNATIVE_DATE_REJECTED", conference="created"),
    Row("A10", "agreed_alt_expert", "expert", "cancelAlternativeDate", "AGREED", (True, True),
        "BLOCKED", (450, 50),
        (("ALTERNATIVE_DATE_CANCELLED_BY_EXPERT", "Expert Canceled Alternate Date"),), None,
        conference="created"),
    Row("A10′ from AGREED", "agreed_alt_user", "user", "cancelAlternativeDate", "AGREED",
        (True, True), "BLOCKED", (450, 50), (("ALTERNATIVE_DATE_CANCELLED_BY_USER", None),),
        None, conference="created"),
    Row("A10′ on a counter-proposal", "proposed_alt_user", "user", "cancelAlternativeDate",
        "AWAITING_APPROVAL", (False, True), "NONE", (500, 0),
        (("ALTERNATIVE_DATE_CANCELLED_BY_USER", None),), None),
    Row("A10′ from REJECTED", "rejected_alt_user", "user", "cancelAlternativeDate", "REJECTED",
        (True, False), "RETURNED", (500, 0), (("ALTERNATIVE_DATE_CANCELLED_BY_USER", None),),
        None),
)


@pytest.mark.parametrize("row", ROWS, ids=[r.code for r in ROWS])
async def test_allowed(client: httpx.AsyncClient, frozen: FrozenClock, row: Row) -> None:
    m = await market(client)
    before = await reach(m, row.state)
    actor, other = (m.user, m.expert) if row.who == "user" else (m.expert, m.user)
    notes_actor, notes_other = await notifications(actor), await notifications(other)

    meeting = ok(await act(actor, row.mutation, before["id"], **row.input))

    assert meeting["status"] == row.status
    assert (meeting["approvedByUser"], meeting["approvedByExpert"]) == row.approved
    assert meeting["creditPaymentStatus"] == row.credit
    assert meeting["startsAt"] == iso(row.starts_at)
    if row.alternative is None:
        assert meeting["alternative"] is None
    else:
        assert meeting["alternative"]["proposedBy"] == row.alternative[0]
        assert meeting["alternative"]["startsAt"] == iso(row.alternative[1])
        assert meeting["alternative"]["proposedAt"] == iso(T0)
    assert meeting["version"] == before["version"] + 1
    assert await balances(m) == (*row.user_credits, 0, 0)

    # Exactly the events the row lists, appended, by the acting party.
    assert meeting["timeline"][:len(before["timeline"])] == before["timeline"]
    added = meeting["timeline"][len(before["timeline"]):]
    assert [e["kind"] for e in added] == [kind for kind, _ in row.events]
    for event, (_, label) in zip(added, row.events, strict=True):
        if label is not None:
            assert event["label"] == label
        assert event["actor"] == row.who.upper()
        if row.event_date is not None:
            assert event["startsAt"] == iso(row.event_date)

    # The timeline keeps every reason given; the meeting keeps the one that ended it.
    given = {**DEFAULT_INPUT[row.mutation], **row.input}.get("reasonCode")
    assert added[-1]["reason"] == ({"code": given} if given else None)
    if row.reason is not None:
        reason_field = ("cancellationReason" if row.mutation == "cancelMeeting"
                        else "rejectionReason")
        assert meeting[reason_field] == {"code": row.reason}
    if row.input.get("note"):
        assert added[-1]["note"] == row.input["note"]

    if row.conference == "created":
        assert meeting["conference"] is not None
        assert meeting["conference"]["status"] in ("PENDING", "CREATED")
    elif row.conference is not None:
        assert meeting["conference"]["status"] == row.conference

    new_other = await notifications(other) - notes_other
    new_actor = await notifications(actor) - notes_actor
    assert sorted(kind for kind, _, _ in new_other.elements()) == (
        [row.notify] if row.notify else [])
    assert all(mid == meeting["id"] for _, _, mid in new_other)
    assert not new_actor

    # The other party's view agrees with the payload.
    seen = await get(other, meeting["id"])
    assert seen["viewerRole"] == ("EXPERT" if row.who == "user" else "USER")
    for key in ("version", "status", "startsAt", "alternative", "creditPaymentStatus",
                "approvedByUser", "approvedByExpert", "timeline"):
        assert seen[key] == meeting[key], key


async def test_a1_request(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = ok(await m.request(START))
    assert meeting["status"] == "AWAITING_APPROVAL"
    assert (meeting["approvedByUser"], meeting["approvedByExpert"]) == (True, False)
    assert meeting["creditPaymentStatus"] == "BLOCKED"
    assert meeting["alternative"] is None
    assert (meeting["lengthMinutes"], meeting["priceCredits"]) == (60, 50)
    assert meeting["endsAt"] == iso(at(START, minutes=60))
    assert meeting["createdBy"] == "USER"
    assert [(e["kind"], e["actor"]) for e in meeting["timeline"]] == [
        ("REQUESTED_BY_USER", "USER")]
    assert meeting["awaitingResponseFrom"] == "EXPERT"
    assert await balances(m) == (450, 50, 0, 0)
    assert [k for k, _, _ in (await notifications(m.expert)).elements()] == [
        "MEETING_REQUESTED"]
    assert not await notifications(m.user)


async def test_a4_propose(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = ok(await m.propose(START, price=70))
    assert meeting["status"] == "AWAITING_APPROVAL"
    assert (meeting["approvedByUser"], meeting["approvedByExpert"]) == (False, True)
    assert meeting["creditPaymentStatus"] == "NONE"
    assert meeting["priceCredits"] == 70
    assert meeting["createdBy"] == "EXPERT"
    assert [(e["kind"], e["label"], e["actor"]) for e in meeting["timeline"]] == [
        ("APPROVED_BY_EXPERT", "Expert approval", "EXPERT")]
    assert meeting["awaitingResponseFrom"] == "USER"
    assert await balances(m) == (500, 0, 0, 0)
    assert [k for k, _, _ in (await notifications(m.user)).elements()] == [
        "EXPERT_MEETING_INVITATION"]
    assert not await notifications(m.expert)
    # The proposal is posted in the pair's chat and links to the meeting.
    data = await m.user.q("query($id: ID!) { meeting(id: $id) { conversation { "
                          "messages { edges { node { kind meeting { id } } } } } } }",
                          {"id": meeting["id"]})
    messages = data["meeting"]["conversation"]["messages"]["edges"]
    assert [(e["node"]["kind"], e["node"]["meeting"]["id"]) for e in messages] == [
        ("MEETING_PROPOSAL", meeting["id"])]


async def test_a4_from_meeting_and_chat(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    first = ok(await m.request(START))
    from_meeting = ok(await m.expert.mutate("proposeMeeting", {
        "fromMeetingId": first["id"], "serviceId": m.service_id, "skillId": m.skill_id,
        "startsAt": ALT.isoformat(), "lengthMinutes": 30, "priceCredits": 20,
    }, "ProposeMeetingInput"))
    conversation = (await m.expert.q(
        "mutation($a: ID!) { startConversation(withAccountId: $a) { conversation { id } } }",
        {"a": m.user.id}))["startConversation"]["conversation"]["id"]
    from_chat = ok(await m.expert.mutate("proposeMeeting", {
        "conversationId": conversation, "serviceId": m.service_id, "skillId": m.skill_id,
        "startsAt": NEW.isoformat(), "lengthMinutes": 45, "priceCredits": 30,
    }, "ProposeMeetingInput"))
    for meeting, length in ((from_meeting, 30), (from_chat, 45)):
        mine = await get(m.user, meeting["id"])  # the invitee is that meeting's user
        assert mine["viewerRole"] == "USER"
        assert mine["lengthMinutes"] == length
        assert mine["endsAt"] == iso(at(datetime.fromisoformat(mine["startsAt"]),
                                        minutes=length))


async def test_a6_notification_title(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = await reach(m, "agreed")
    ok(await act(m.expert, "cancelMeeting", meeting["id"]))
    cancelled = [(k, t) for k, t, mid in (await notifications(m.user)).elements()
                 if k == "MEETING_CANCELLED" and mid == meeting["id"]]
    assert cancelled == [("MEETING_CANCELLED", "Cancellation of meeting by expert")]


# --- 1b. every action refused outside its rows ---------------------------------------------


# What the SPEC allows, per state and party. Everything else is INVALID_STATE, except
# rescheduling while the other party's alternative is pending (ALTERNATIVE_PENDING).
ALLOWED: dict[str, dict[str, set[str]]] = {
    "requested": {"expert": {"confirmMeeting", "declineMeeting"},  # A2, A3
                  "user": {"cancelMeeting"}},  # A5′
    "proposed": {"expert": {"cancelMeeting"},  # A5
                 "user": {"confirmMeeting", "declineMeeting", "rescheduleMeeting"}},
    "agreed": {"expert": {"cancelMeeting", "rescheduleMeeting"},  # A6, A7
               "user": {"cancelMeeting", "rescheduleMeeting"}},  # A6′, A7′
    "rejected": {"expert": {"rescheduleMeeting"}, "user": {"rescheduleMeeting"}},
    "cancelled": {"expert": set(), "user": set()},
    "agreed_alt_expert": {
        "expert": {"cancelMeeting", "rescheduleMeeting", "cancelAlternativeDate"},
        "user": {"cancelMeeting", "confirmAlternativeDate", "rejectAlternativeDate"}},
    "agreed_alt_user": {
        "expert": {"cancelMeeting", "confirmAlternativeDate", "rejectAlternativeDate"},
        "user": {"cancelMeeting", "rescheduleMeeting", "cancelAlternativeDate"}},
    # A counter-proposal is the user's answer; the expert answers it (A8/A9), A5 no longer
    # applies.
    "proposed_alt_user": {
        "expert": {"confirmAlternativeDate", "rejectAlternativeDate"},
        "user": {"rescheduleMeeting", "cancelAlternativeDate"}},
    "rejected_alt_user": {
        "expert": {"confirmAlternativeDate", "rejectAlternativeDate"},
        "user": {"rescheduleMeeting", "cancelAlternativeDate"}},
}
# "Awaiting response from" (SPEC §2).
AWAITING_FROM: dict[str, str | None] = {
    "requested": "EXPERT", "proposed": "USER", "agreed": None, "rejected": None,
    "cancelled": None, "agreed_alt_expert": "USER", "agreed_alt_user": "EXPERT",
    "proposed_alt_user": "EXPERT", "rejected_alt_user": "EXPERT"}
ALTERNATIVE_PENDING = {("agreed_alt_expert", "user"), ("agreed_alt_user", "expert"),
                       ("rejected_alt_user", "expert")}
SPEC_ACTIONS = {"confirmMeeting": "CONFIRM", "declineMeeting": "DECLINE",
                "cancelMeeting": "CANCEL", "rescheduleMeeting": "RESCHEDULE",
                "confirmAlternativeDate": "CONFIRM_ALTERNATIVE_DATE",
                "rejectAlternativeDate": "REJECT_ALTERNATIVE_DATE",
                "cancelAlternativeDate": "CANCEL_ALTERNATIVE_DATE"}


@pytest.mark.parametrize("state", STATES)
async def test_refused(client: httpx.AsyncClient, frozen: FrozenClock, state: str) -> None:
    m = await market(client)
    meeting = await reach(m, state)
    assert meeting["awaitingResponseFrom"] == AWAITING_FROM[state]
    balance = await balances(m)
    for who in ("user", "expert"):
        party = party_of(m, who)
        # availableActions offers exactly the allowed actions.
        offered = set((await get(party, meeting["id"]))["availableActions"])
        assert offered == {SPEC_ACTIONS[a] for a in ALLOWED[state][who]}, (state, who)
        for mutation in ACTIONS:
            if mutation in ALLOWED[state][who]:
                continue
            expected = ("ALTERNATIVE_PENDING"
                        if mutation == "rescheduleMeeting" and (state, who) in ALTERNATIVE_PENDING
                        else "INVALID_STATE")
            payload = await act(party, mutation, meeting["id"])
            assert error_codes(payload) == [expected], (state, who, mutation)
            assert payload["meeting"] is None
    after = await get(m.user, meeting["id"])
    unchanged(meeting, after)
    assert await balances(m) == balance
