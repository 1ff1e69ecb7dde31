"""Input errors through the HTTP API: naive date-times, unknown and foreign ids, reason codes,
non-positive lengths and prices, page sizes, authentication and credit grants."""

import base64
import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from app.auth import make_token
from core.clock import FrozenClock
from core.settings import get_settings
from tests.support.client import PAYLOAD, Market, Party, market, party
from tests.support.lifecycle import (
    ACTIONS,
    START,
    act,
    balances,
    error_codes,
    get,
    ok,
    reach,
    unchanged,
)

NAIVE = "2030-01-10T08:00:00"


def global_id(type_name: str, pk: object) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{pk}".encode()).decode()


async def count(who: Party) -> int:
    return int((await who.q("{ meetings { totalCount } }"))["meetings"]["totalCount"])


# --- naive date-times ----------------------------------------------------------------------


async def test_naive_request_is_rejected(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    by_variable = await m.user.raw(
        f"mutation($input: RequestMeetingInput!) {{ requestMeeting(input: $input) "
        f"{{ {PAYLOAD} }} }}",
        {"input": {"serviceId": m.service_id, "skillId": m.skill_id, "startsAt": NAIVE}})
    inline = await m.user.raw(
        f'mutation {{ requestMeeting(input: {{serviceId: "{m.service_id}", '
        f'skillId: "{m.skill_id}", startsAt: "{NAIVE}"}}) {{ {PAYLOAD} }} }}')
    for body in (by_variable, inline):
        assert body.get("data") is None
        assert body["errors"], body
        assert "offset" in body["errors"][0]["message"]
    assert await count(m.user) == 0
    assert await balances(m) == (500, 0, 0, 0)
    # The same instant with an offset is accepted.
    assert ok(await m.request(START))["startsAt"] == "2030-01-10T08:00:00Z"


async def test_naive_reschedule_and_proposal_are_rejected(client: httpx.AsyncClient,
                                                          frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = await reach(m, "agreed")
    body = await m.user.raw(
        f"mutation($input: RescheduleMeetingInput!) {{ rescheduleMeeting(input: $input) "
        f"{{ {PAYLOAD} }} }}", {"input": {"meetingId": meeting["id"], "startsAt": NAIVE}})
    assert body["errors"] and "offset" in body["errors"][0]["message"]
    unchanged(meeting, await get(m.user, meeting["id"]))
    body = await m.expert.raw(
        f"mutation($input: ProposeMeetingInput!) {{ proposeMeeting(input: $input) "
        f"{{ {PAYLOAD} }} }}",
        {"input": {"userId": m.user.id, "serviceId": m.service_id, "skillId": m.skill_id,
                   "startsAt": NAIVE, "lengthMinutes": 60, "priceCredits": 50}})
    assert body["errors"] and "offset" in body["errors"][0]["message"]
    assert await count(m.user) == 1


async def test_offsets_are_converted_to_utc(client: httpx.AsyncClient,
                                            frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = ok(await m.user.mutate("requestMeeting", {
        "serviceId": m.service_id, "skillId": m.skill_id,
        "startsAt": "2030-01-10T09:30:00+01:30"}, "RequestMeetingInput"))
    assert meeting["startsAt"] == "2030-01-10T08:00:00Z"


# --- unknown, malformed and foreign ids ----------------------------------------------------

BAD_IDS = ["garbage", "!!!", global_id("Meeting", 999_999_999), global_id("Meeting", "x"),
           global_id("Meeting", -1), global_id("Meeting", 0), global_id("Meeting", 2**70)]


@pytest.mark.parametrize("mutation", ACTIONS)
async def test_unknown_ids(client: httpx.AsyncClient, frozen: FrozenClock,
                           mutation: str) -> None:
    m = await market(client)
    meeting = await reach(m, "agreed")
    wrong_type = global_id("Account", int(
        base64.urlsafe_b64decode(meeting["id"]).decode().split(":")[1]))
    for bad in [*BAD_IDS, wrong_type]:
        payload = await act(m.user, mutation, bad)
        assert payload["errors"] == [{"code": "NOT_FOUND", "message": "Meeting not found.",
                                      "field": "meetingId"}], bad
        assert (await m.user.q("query($id: ID!) { meeting(id: $id) { id } }",
                               {"id": bad}))["meeting"] is None
    unchanged(meeting, await get(m.user, meeting["id"]))


async def test_other_peoples_meetings(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    stranger = await party(client)
    for state in ("requested", "proposed", "agreed_alt_user", "agreed_alt_expert"):
        m = await market(client)
        await m.grant(stranger, 500)
        meeting = await reach(m, state)
        for mutation in ACTIONS:
            payload = await act(stranger, mutation, meeting["id"],
                                acknowledgeLateCancellation=True
                                if mutation == "cancelMeeting" else None)
            assert error_codes(payload) == ["NOT_FOUND"], (state, mutation)
            assert payload["meeting"] is None
        data = await stranger.q("query($id: ID!) { meeting(id: $id) { id } "
                                "node(id: $id) { id } }", {"id": meeting["id"]})
        assert data == {"meeting": None, "node": None}
        unchanged(meeting, await get(m.user, meeting["id"]))
    assert await count(stranger) == 0
    # Proposing from someone else's meeting is NOT_FOUND as well.
    third = await market(client)
    payload = await third.expert.mutate("proposeMeeting", {
        "fromMeetingId": meeting["id"], "serviceId": third.service_id,
        "skillId": third.skill_id, "startsAt": START.isoformat(), "lengthMinutes": 60,
        "priceCredits": 50}, "ProposeMeetingInput")
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert payload["errors"][0]["field"] == "fromMeetingId"


# --- reason codes --------------------------------------------------------------------------


async def test_reason_lists(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    data = await m.user.q("{ r: reasons(kind: REJECTION) { code } "
                          "c: reasons(kind: CANCELLATION) { code } }")
    assert {"NOT_AVAILABLE", "OUT_OF_SCOPE"} <= {r["code"] for r in data["r"]}
    assert {"SCHEDULE_CONFLICT", "ILLNESS"} <= {r["code"] for r in data["c"]}
    assert "SCHEDULE_CONFLICT" not in {r["code"] for r in data["r"]}
    assert "NOT_AVAILABLE" not in {r["code"] for r in data["c"]}


@pytest.mark.parametrize(("state", "who", "mutation", "code"), [
    ("requested", "expert", "declineMeeting", "NOPE"),
    ("requested", "expert", "declineMeeting", "SCHEDULE_CONFLICT"),  # a cancellation code
    ("requested", "expert", "declineMeeting", ""),
    ("proposed", "user", "declineMeeting", "ILLNESS"),
    ("agreed_alt_user", "expert", "rejectAlternativeDate", "ILLNESS"),
    ("agreed_alt_expert", "user", "rejectAlternativeDate", "nope"),
    ("agreed", "expert", "cancelMeeting", "NOT_AVAILABLE"),  # a rejection code
    ("agreed", "user", "cancelMeeting", "NOPE"),
    ("agreed", "user", "cancelMeeting", None),  # missing
    ("agreed", "expert", "cancelMeeting", None),
    ("agreed", "expert", "cancelMeeting", ""),
    ("requested", "user", "cancelMeeting", "NOPE"),  # optional, but not any string
    ("proposed", "expert", "cancelMeeting", "NOT_AVAILABLE"),
])
async def test_invalid_reason(client: httpx.AsyncClient, frozen: FrozenClock, state: str,
                              who: str, mutation: str, code: str | None) -> None:
    m = await market(client)
    meeting = await reach(m, state)
    balance = await balances(m)
    payload = await act(m.user if who == "user" else m.expert, mutation, meeting["id"],
                        reasonCode=code, note="a note")
    assert error_codes(payload) == ["INVALID_REASON"]
    assert payload["errors"][0]["field"] == "reasonCode"
    unchanged(meeting, await get(m.user, meeting["id"]))
    assert await balances(m) == balance


# --- lengths and prices --------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("lengthMinutes", 0), ("lengthMinutes", -30),
                                              ("priceCredits", 0), ("priceCredits", -5)])
async def test_propose_needs_positive_values(client: httpx.AsyncClient, frozen: FrozenClock,
                                             field: str, value: int) -> None:
    m = await market(client)
    payload = await m.propose(START, **{field: value})
    assert payload["errors"] == [{"code": "INVALID_INPUT", "field": field,
                                  "message": payload["errors"][0]["message"]}]
    assert payload["meeting"] is None
    assert await count(m.user) == 0 and await count(m.expert) == 0


@pytest.mark.parametrize(("field", "value"), [("lengthMinutes", 0), ("lengthMinutes", -30),
                                              ("priceCredits", 0), ("priceCredits", -5)])
async def test_service_needs_positive_values(client: httpx.AsyncClient, frozen: FrozenClock,
                                             field: str, value: int) -> None:
    expert = await party(client)
    values = {"title": "Advice", "skillNames": ["Advice"], "lengthMinutes": 60,
              "priceCredits": 50, field: value}
    data = await expert.q(
        "mutation($i: ExpertServiceInput!) { createExpertService(input: $i) { "
        "service { id } errors { code field } } }", {"i": values})
    assert data["createExpertService"] == {"service": None,
                                           "errors": [{"code": "INVALID_INPUT", "field": field}]}
    profile = await expert.q("{ viewer { account { expertProfile { services { id } } } } }")
    services = profile["viewer"]["account"]["expertProfile"]
    assert services is None or services["services"] == []


# --- page sizes ----------------------------------------------------------------------------

PAGED = [
    "{ meetings(first: %d) { totalCount } }",
    "{ notifications(first: %d) { unreadCount } }",
    "{ conversations(first: %d) { id } }",
    "{ viewer { creditLedger(first: %d) { edges { cursor } } } }",
]


@pytest.mark.parametrize("query", PAGED)
async def test_page_size_limit(client: httpx.AsyncClient, frozen: FrozenClock,
                               query: str) -> None:
    who = await party(client)
    assert not (await who.raw(query % 100)).get("errors")
    body = await who.raw(query % 101)
    assert body["errors"], body
    assert "first" in body["errors"][0]["message"]


# --- authentication and admin ----------------------------------------------------------------


def bad_tokens() -> list[str | None]:
    settings = get_settings()
    claims: dict[str, object] = {"sub": "t-bad", "exp": int(time.time()) + 3600}
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return [
        None,
        "",
        "Bearer",
        "Bearer garbage",
        "Basic " + make_token(settings, "t-basic"),
        "Bearer " + jwt.encode(claims, "not-the-secret-" + "x" * 32, algorithm="HS256"),
        "Bearer " + jwt.encode({**claims, "exp": int(time.time()) - 60}, settings.jwt_secret,
                               algorithm="HS256"),
        "Bearer " + jwt.encode({k: v for k, v in claims.items() if k != "exp"},
                               settings.jwt_secret, algorithm="HS256"),
    ]


@pytest.mark.parametrize("authorization", bad_tokens())
async def test_unauthenticated(client: httpx.AsyncClient, frozen: FrozenClock,
                               authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    for query in ("{ viewer { account { id } } }", "{ meetings { totalCount } }",
                  'mutation { grantCredits(input: {accountId: "x", amount: 1, '
                  'reference: "r"}) { errors { code } } }'):
        response = await client.post("/graphql", json={"query": query}, headers=headers)
        body = response.json()
        assert body["errors"], body
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert body.get("data") is None
    response = await client.post("/graphql", headers=headers, json={
        "query": "{ __schema { queryType { name } } __type(name: \"Meeting\") { name } }"})
    body = response.json()
    assert not body.get("errors"), body
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}},
                            "__type": {"name": "Meeting"}}


GRANT = ("mutation($i: GrantCreditsInput!) { grantCredits(input: $i) { "
         "balance { available blocked } errors { code field } } }")


async def grant(by: Party, to: Party, amount: int, reference: str) -> dict[str, Any]:
    data = await by.q(GRANT, {"i": {"accountId": to.id, "amount": amount,
                                    "reference": reference}})
    result: dict[str, Any] = data["grantCredits"]
    return result


async def test_grant_is_admin_only(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m: Market = await market(client, credits=0)
    for by in (m.user, m.expert):
        result = await grant(by, m.user, 100, uuid.uuid4().hex)
        assert result["errors"][0]["code"] == "FORBIDDEN"
        assert result["balance"] is None
    assert await m.user.credits() == {"available": 0, "blocked": 0}
    ledger = await m.user.q("{ viewer { creditLedger { edges { node { kind } } } } }")
    assert ledger["viewer"]["creditLedger"]["edges"] == []


async def test_grant_is_idempotent_by_reference(client: httpx.AsyncClient,
                                                frozen: FrozenClock) -> None:
    m = await market(client, credits=0)
    reference = uuid.uuid4().hex
    first = await grant(m.admin, m.user, 120, reference)
    assert first == {"balance": {"available": 120, "blocked": 0}, "errors": []}
    again = await grant(m.admin, m.user, 120, reference)
    assert again == {"balance": {"available": 120, "blocked": 0}, "errors": []}
    second = uuid.uuid4().hex
    other = await grant(m.admin, m.user, 5, second)
    assert other["balance"] == {"available": 125, "blocked": 0}
    ledger = await m.user.q("{ viewer { creditLedger { edges { node { kind availableDelta "
                            "reference } } } } }")
    entries = [e["node"] for e in ledger["viewer"]["creditLedger"]["edges"]]
    assert sorted((e["kind"], e["availableDelta"], e["reference"]) for e in entries) == [
        ("GRANT", 5, second), ("GRANT", 120, reference)]


@pytest.mark.parametrize(("field", "amount", "reference"), [
    ("amount", 0, "r"), ("amount", -10, "r"), ("reference", 10, " ")])
async def test_grant_input(client: httpx.AsyncClient, frozen: FrozenClock, field: str,
                           amount: int, reference: str) -> None:
    m = await market(client, credits=0)
    result = await grant(m.admin, m.user, amount, reference)
    assert result["errors"] == [{"code": "INVALID_INPUT", "field": field}]
    assert await m.user.credits() == {"available": 0, "blocked": 0}


# --- services, skills and invitees ---------------------------------------------------------


async def test_inactive_service_and_foreign_skill(client: httpx.AsyncClient,
                                                  frozen: FrozenClock) -> None:
    m = await market(client)
    other = await market(client)
    payload = await m.user.mutate("requestMeeting", {
        "serviceId": m.service_id, "skillId": global_id("Skill", 10**9),
        "startsAt": START.isoformat()}, "RequestMeetingInput")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", "skillId")]
    data = await m.expert.q(
        "mutation($id: ID!) { updateExpertService(id: $id, input: {active: false}) "
        "{ errors { code } } }", {"id": m.service_id})
    assert data["updateExpertService"]["errors"] == []
    payload = await m.request(START)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_INPUT", "serviceId")]
    # Another expert's service cannot be proposed (ownership: NOT_FOUND).
    payload = await m.expert.mutate("proposeMeeting", {
        "userId": m.user.id, "serviceId": other.service_id, "skillId": other.skill_id,
        "startsAt": START.isoformat(), "lengthMinutes": 60, "priceCredits": 50,
    }, "ProposeMeetingInput")
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", "serviceId")]
    assert await count(m.user) == 0
    assert await balances(m) == (500, 0, 0, 0)


async def test_proposal_needs_one_invitee(client: httpx.AsyncClient,
                                          frozen: FrozenClock) -> None:
    m = await market(client)
    stranger = await party(client)
    meeting = ok(await m.request(START))
    base = {"serviceId": m.service_id, "skillId": m.skill_id, "startsAt": START.isoformat(),
            "lengthMinutes": 60, "priceCredits": 50}
    for invitees in ({}, {"userId": stranger.id, "fromMeetingId": meeting["id"]}):
        payload = await m.expert.mutate("proposeMeeting", {**base, **invitees},
                                        "ProposeMeetingInput")
        assert [e["code"] for e in payload["errors"]] == ["INVALID_INPUT"], invitees
    assert await count(stranger) == 0
    assert await count(m.user) == 1


async def test_mark_notifications_read_without_ids_marks_all(client: Any) -> None:
    """`ids` left out (not null) marks every notification read, as null does."""
    from tests.support.client import at, market
    from tests.support.clock import T0

    m = await market(client)
    await m.request(at(T0, days=3))
    unread = "{ notifications { unreadCount } }"
    assert (await m.expert.q(unread))["notifications"]["unreadCount"] == 1
    data = await m.expert.q("mutation { markNotificationsRead { unreadCount errors { code } } }")
    assert data["markNotificationsRead"] == {"unreadCount": 0, "errors": []}
    assert (await m.expert.q(unread))["notifications"]["unreadCount"] == 0
