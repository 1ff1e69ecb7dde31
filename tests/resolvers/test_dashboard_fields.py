"""Fields added for the dashboard (examples/dashboard): payloads that carry what a screen shows
next, so that a client updates its cache from the answer instead of refetching."""

import uuid

import httpx

from tests.support.client import at, market, party
from tests.support.clock import T0

VIEWER_CREDITS = "viewer { credits { available blocked } }"


async def test_a_meeting_payload_carries_the_viewers_balance_after_the_action(
        client: httpx.AsyncClient) -> None:
    m = await market(client, credits=500)
    data = await m.user.q(
        "mutation($i: RequestMeetingInput!) { requestMeeting(input: $i) {"
        f" meeting {{ id }} errors {{ code }} {VIEWER_CREDITS} }} }}",
        {"i": {"serviceId": m.service_id, "skillId": m.skill_id,
               "startsAt": at(T0, days=3).isoformat()}})
    payload = data["requestMeeting"]
    assert payload["errors"] == []
    assert payload["viewer"]["credits"] == {"available": 450, "blocked": 50}

    declined = await m.expert.q(
        "mutation($i: DeclineMeetingInput!) { declineMeeting(input: $i) {"
        f" errors {{ code }} {VIEWER_CREDITS} }} }}",
        {"i": {"meetingId": payload["meeting"]["id"], "reasonCode": "NOT_AVAILABLE"}})
    assert declined["declineMeeting"]["viewer"]["credits"] == {"available": 0, "blocked": 0}
    assert await m.user.credits() == {"available": 500, "blocked": 0}

    # A refused action still says where the viewer stands.
    refused = await m.user.q(
        "mutation($i: RequestMeetingInput!) { requestMeeting(input: $i) {"
        f" errors {{ code }} {VIEWER_CREDITS} }} }}",
        {"i": {"serviceId": m.service_id, "skillId": m.skill_id,
               "startsAt": at(T0, days=-1).isoformat()}})
    assert refused["requestMeeting"]["errors"] == [{"code": "DATE_IN_PAST"}]
    assert refused["requestMeeting"]["viewer"]["credits"] == {"available": 500, "blocked": 0}


async def test_marking_notifications_read_returns_them_read(client: httpx.AsyncClient) -> None:
    m = await market(client)
    await m.request(at(T0, days=3))
    await m.request(at(T0, days=4))
    listed = await m.expert.q("{ notifications { unreadCount edges { node { id readAt } } } }")
    ids = [e["node"]["id"] for e in listed["notifications"]["edges"]]
    assert len(ids) == 2 and listed["notifications"]["unreadCount"] == 2

    data = await m.expert.q(
        "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) {"
        " unreadCount errors { code } notifications { id readAt } } }", {"ids": ids[:1]})
    marked = data["markNotificationsRead"]
    assert marked["unreadCount"] == 1 and marked["errors"] == []
    assert [n["id"] for n in marked["notifications"]] == ids[:1]
    assert marked["notifications"][0]["readAt"] is not None

    # Another account's notification is unknown: an error, nothing marked, nothing returned.
    other = await m.user.q(
        "mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) {"
        " unreadCount errors { code field } notifications { id } } }", {"ids": ids[1:]})
    assert other["markNotificationsRead"]["errors"] == [{"code": "NOT_FOUND", "field": "ids[0]"}]
    assert other["markNotificationsRead"]["notifications"] == []
    again = await m.expert.q("{ notifications { unreadCount } }")
    assert again["notifications"]["unreadCount"] == 1


async def test_experts_lists_those_offering_an_active_service(client: httpx.AsyncClient) -> None:
    tag = uuid.uuid4().hex[:8]
    # "!" sorts before the other tests' accounts, so these are on the first page.
    offering = await party(client, name=f"!{tag} offering")
    retired = await party(client, name=f"!{tag} retired")
    plain = await party(client, name=f"!{tag} plain")
    for expert in (offering, retired):
        data = await expert.q("""mutation { createExpertService(input: {title: "Advice",
            skillNames: ["Advice"], lengthMinutes: 30, priceCredits: 10}) {
            service { id } errors { code } } }""")
        service = data["createExpertService"]["service"]["id"]
    await retired.q("mutation($id: ID!) { updateExpertService(id: $id, input: {active: false})"
                    " { errors { code } } }", {"id": service})

    data = await plain.q("{ experts(first: 100) { id displayName isExpert"
                         " expertProfile { services { title active } } } }")
    mine = [e for e in data["experts"] if e["displayName"].startswith(f"!{tag}")]
    assert [e["id"] for e in mine] == [offering.id]
    assert mine[0]["expertProfile"]["services"] == [{"title": "Advice", "active": True}]
    over = await plain.raw("{ experts(first: 101) { id } }")
    assert over["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_an_availability_payload_leads_to_the_experts_profile(
        client: httpx.AsyncClient) -> None:
    m = await market(client)
    data = await m.expert.q("""mutation { setWeeklyAvailability(input: {timezone: "Europe/Berlin",
        rules: [{weekday: MONDAY, startTime: "09:00", endTime: "12:00"}]}) {
        errors { code }
        expert { id expertProfile { availability {
            timezone weeklyRules { weekday startTime endTime } } } }
    } }""")
    payload = data["setWeeklyAvailability"]
    assert payload["errors"] == []
    assert payload["expert"]["id"] == m.expert.id
    assert payload["expert"]["expertProfile"]["availability"] == {
        "timezone": "Europe/Berlin",
        "weeklyRules": [{"weekday": "MONDAY", "startTime": "09:00", "endTime": "12:00"}]}

    blocked = await m.expert.q(
        "mutation($i: [DateRangeInput!]!) { addBlockedDates(input: $i) { errors { code }"
        " expert { expertProfile { availability { blockedDates { startsAt } } } } } }",
        {"i": [{"startsAt": at(T0, days=1).isoformat(), "endsAt": at(T0, days=2).isoformat()}]})
    dates = blocked["addBlockedDates"]["expert"]["expertProfile"]["availability"]["blockedDates"]
    assert len(dates) == 1
