"""Helpers of the lifecycle tests (tests/resolvers/test_lifecycle_*.py, test_input_errors.py):
the dates, the actions, and reaching each state of SPEC §3 through the API."""

from collections import Counter
from datetime import datetime
from typing import Any

from tests.support.client import MEETING_FIELDS, Market, Party, at
from tests.support.clock import T0

# Thursday 08:00 UTC, 72 h after T0: not a late cancellation.
START = at(T0, days=3)
ALT = at(T0, days=4)
NEW = at(T0, days=5)

INPUT_TYPES = {
    "confirmMeeting": "MeetingRefInput",
    "declineMeeting": "DeclineMeetingInput",
    "cancelMeeting": "CancelMeetingInput",
    "rescheduleMeeting": "RescheduleMeetingInput",
    "confirmAlternativeDate": "MeetingRefInput",
    "rejectAlternativeDate": "RejectAlternativeDateInput",
    "cancelAlternativeDate": "MeetingRefInput",
}
# A valid input for each mutation, beyond meetingId.
DEFAULT_INPUT: dict[str, dict[str, Any]] = {
    "confirmMeeting": {},
    "declineMeeting": {"reasonCode": "NOT_AVAILABLE"},
    "cancelMeeting": {"reasonCode": "SCHEDULE_CONFLICT"},
    "rescheduleMeeting": {"startsAt": NEW.isoformat()},
    "confirmAlternativeDate": {},
    "rejectAlternativeDate": {"reasonCode": "NOT_AVAILABLE"},
    "cancelAlternativeDate": {},
}
MEETING_QUERY = (
    "query($id: ID!) { meeting(id: $id) { " + MEETING_FIELDS
    + " cancellationPolicy { isLate lateFrom } conflicts { id } } }"
)


def iso(value: datetime) -> str:
    """The API's form of a UTC date-time."""
    return value.isoformat().replace("+00:00", "Z")


async def act(who: Party, mutation: str, meeting_id: str, **fields: Any) -> dict[str, Any]:
    """Runs one meeting mutation with a valid default input, overridden by `fields`."""
    body = {"meetingId": meeting_id, **DEFAULT_INPUT[mutation], **fields}
    body = {k: v for k, v in body.items() if v is not None}
    return await who.mutate(mutation, body, INPUT_TYPES[mutation])


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    assert payload["errors"] == [], payload["errors"]
    meeting: dict[str, Any] = payload["meeting"]
    return meeting


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def get(who: Party, meeting_id: str) -> dict[str, Any]:
    data = await who.q(MEETING_QUERY, {"id": meeting_id})
    meeting: dict[str, Any] = data["meeting"]
    return meeting


async def notifications(who: Party) -> Counter[tuple[str, str, str | None]]:
    data = await who.q("{ notifications(first: 100) { edges { node { kind title "
                       "meeting { id } } } } }")
    return Counter(
        (e["node"]["kind"], e["node"]["title"],
         e["node"]["meeting"]["id"] if e["node"]["meeting"] else None)
        for e in data["notifications"]["edges"])


async def balances(m: Market) -> tuple[int, int, int, int]:
    user, expert = await m.user.credits(), await m.expert.credits()
    return user["available"], user["blocked"], expert["available"], expert["blocked"]


def unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    """A refused action changed nothing a client can see."""
    for key in ("version", "status", "startsAt", "approvedByUser", "approvedByExpert",
                "alternative", "creditPaymentStatus", "timeline", "rejectionReason",
                "cancellationReason", "conference"):
        assert after[key] == before[key], key


def party_of(m: Market, who: str) -> Party:
    return m.user if who == "user" else m.expert


# States reachable through the API, each built from START (alternatives at ALT).
STATES = ("requested", "proposed", "agreed", "rejected", "cancelled", "agreed_alt_expert",
          "agreed_alt_user", "proposed_alt_user", "rejected_alt_user")


async def reach(m: Market, state: str) -> dict[str, Any]:
    """A meeting in the named state."""
    if state == "requested":
        return ok(await m.request(START))
    if state == "proposed":
        return ok(await m.propose(START))
    if state in ("agreed", "rejected", "cancelled"):
        meeting = await reach(m, "requested")
        mutation, who = {"agreed": ("confirmMeeting", m.expert),
                         "rejected": ("declineMeeting", m.expert),
                         "cancelled": ("cancelMeeting", m.user)}[state]
        return ok(await act(who, mutation, meeting["id"]))
    base, _, proposer = state.rpartition("_alt_")
    meeting = await reach(m, base)
    return ok(await act(party_of(m, proposer), "rescheduleMeeting", meeting["id"],
                        startsAt=ALT.isoformat()))


ACTIONS = ("confirmMeeting", "declineMeeting", "cancelMeeting", "rescheduleMeeting",
           "confirmAlternativeDate", "rejectAlternativeDate", "cancelAlternativeDate")
