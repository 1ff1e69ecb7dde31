"""Read-side queries: the meeting list (statement count, pagination, filters), node(id),
the credit ledger, notifications, chat and free slots."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from tortoise import connections

from core.clock import FrozenClock
from models.enums import CreditPaymentStatus, MeetingStatus, Party, TimelineEventKind
from models.meetings import Meeting, TimelineEvent
from schema.scalars import from_global_id
from tests.support.client import Market, at, market, party
from tests.support.clock import T0

EXECUTE_METHODS = ("execute_query", "execute_query_dict", "execute_insert", "execute_many",
                   "execute_script")


@contextmanager
def count_statements() -> Iterator[list[str]]:
    """Records every SQL statement sent through the default connection's client class (and
    the transaction wrappers that inherit from it)."""
    statements: list[str] = []
    client_class = type(connections.get("default"))
    with pytest.MonkeyPatch.context() as patch:
        for name in EXECUTE_METHODS:
            original = getattr(client_class, name)

            async def wrapper(self: Any, query: str, *args: Any, _original: Any = original,
                              **kwargs: Any) -> Any:
                statements.append(query)
                return await _original(self, query, *args, **kwargs)

            patch.setattr(client_class, name, wrapper)
        yield statements


def pk(global_id: str, kind: str) -> int:
    value = from_global_id(global_id, kind)
    assert value is not None
    return value


async def bulk_meetings(m: Market, count: int, start_hours: int = 24) -> list[Meeting]:
    """`count` meetings of the market's user with its expert, one per hour from
    T0 + start_hours, inserted in bulk with two timeline events each."""
    user_id, expert_id = pk(m.user.id, "Account"), pk(m.expert.id, "Account")
    service_id, skill_id = pk(m.service_id, "ExpertService"), pk(m.skill_id, "Skill")
    # States that hold no credits (expert proposals, rejected and cancelled proposals), so
    # that the rows respect the credit invariants whatever a later sweep does with them.
    statuses = [MeetingStatus.AWAITING_APPROVAL, MeetingStatus.REJECTED, MeetingStatus.CANCELLED]
    rows = []
    for i in range(count):
        starts = at(T0, hours=start_hours + i)
        rows.append(Meeting(
            user_id=user_id, expert_id=expert_id, service_id=service_id, skill_id=skill_id,
            starts_at=starts, ends_at=starts + timedelta(minutes=60), length_minutes=60,
            price_credits=50, status=statuses[i % 3], approved_by_user=False,
            approved_by_expert=True, created_by=Party.EXPERT,
            credit_status=CreditPaymentStatus.NONE, version=1, created_at=T0, updated_at=T0))
    await Meeting.bulk_create(rows)
    created = await Meeting.filter(user_id=user_id, expert_id=expert_id).order_by("id")
    created = created[-count:]
    await TimelineEvent.bulk_create([
        TimelineEvent(meeting_id=row.id, kind=kind, label=kind.value, at=T0, actor=actor)
        for row in created
        for kind, actor in ((TimelineEventKind.APPROVED_BY_EXPERT, Party.EXPERT),
                            (TimelineEventKind.REJECTED_BY_USER, Party.USER))
    ])
    return created


LIST_QUERY = """query($first: Int, $after: String) {
  meetings(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id status startsAt
      user { id displayName }
      expert { id displayName }
      service { id title skills { id name } }
      skill { id name }
      timeline { kind label at actor }
    } }
  }
}"""


async def test_meeting_list_statement_count_does_not_grow(client: httpx.AsyncClient,
                                                          frozen: FrozenClock) -> None:
    m = await market(client)
    await bulk_meetings(m, 55)
    counts = {}
    for first in (5, 50):
        with count_statements() as statements:
            data = await m.user.q(LIST_QUERY, {"first": first})
        assert len(data["meetings"]["edges"]) == first
        assert data["meetings"]["totalCount"] == 55
        assert all(len(e["node"]["timeline"]) == 2 for e in data["meetings"]["edges"])
        # One statement authenticates the request (the account by its JWT `sub`); the rest
        # are the list's: the page with its count, and one per DataLoader (accounts,
        # services, skills, timelines, services' skills).
        auth = [s for s in statements if 'FROM "account" WHERE "key"' in s]
        assert len(auth) <= 1  # none when the token was verified a moment ago (app/auth.py)
        counts[first] = len(statements) - len(auth)
        print(f"\nmeetings(first: {first}): {len(statements)} SQL statements "
              f"({counts[first]} for the list + {len(auth)} to authenticate)")
    assert counts[5] == counts[50]
    assert counts[50] <= 6


PAGE_QUERY = """query($first: Int, $after: String, $role: MeetingRole, $upcoming: Boolean,
                     $status: [MeetingStatus!]) {
  meetings(first: $first, after: $after, role: $role, upcoming: $upcoming, status: $status) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id startsAt status viewerRole } }
  }
}"""


async def page(who: Any, **variables: Any) -> dict[str, Any]:
    return (await who.q(PAGE_QUERY, variables))["meetings"]  # type: ignore[no-any-return]


def ids_of(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


async def test_relay_pagination_walks_every_meeting_once(client: httpx.AsyncClient,
                                                         frozen: FrozenClock) -> None:
    m = await market(client)
    rows = await bulk_meetings(m, 11)
    rows += await bulk_meetings(m, 3, start_hours=24)  # same start times: ordered by id
    expected = [r.id for r in sorted(rows, key=lambda r: (r.starts_at, r.id))]
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        conn = await page(m.user, first=4, after=after)
        assert conn["totalCount"] == 14
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += [pk(i, "Meeting") for i in ids_of(conn)]
        pages += 1
        if conn["edges"]:
            assert conn["pageInfo"]["startCursor"] == conn["edges"][0]["cursor"]
            assert conn["pageInfo"]["endCursor"] == conn["edges"][-1]["cursor"]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        assert len(conn["edges"]) == 4
        after = conn["pageInfo"]["endCursor"]
    assert pages == 4
    assert seen == expected
    # Past the last meeting: no edges, and still the count of them all.
    last = await page(m.user, first=4, after=conn["edges"][-1]["cursor"])
    assert last["edges"] == [] and last["totalCount"] == 14
    assert last["pageInfo"]["hasNextPage"] is False and last["pageInfo"]["endCursor"] is None
    assert (await page(m.user, first=0))["totalCount"] == 14
    starts = [r.starts_at for r in sorted(rows, key=lambda r: (r.starts_at, r.id))]
    assert starts == sorted(starts)
    # The expert sees the same meetings in the same order.
    assert [pk(i, "Meeting") for i in ids_of(await page(m.expert, first=50))] == expected
    # A page size over the maximum is refused with a GraphQL error.
    body = await m.user.raw(PAGE_QUERY, {"first": 101})
    assert body.get("errors")


async def test_role_upcoming_and_status_filters(client: httpx.AsyncClient,
                                                frozen: FrozenClock) -> None:
    m = await market(client)
    other = await market(client)  # another expert, whom m's expert books as a user
    await m.grant(m.expert, 100)
    booked = await other.request(at(T0, days=1), user=m.expert)
    assert booked["errors"] == []
    early = await m.request(at(T0, hours=2))
    late = await m.request(at(T0, days=2))
    agreed = await m.expert.mutate("confirmMeeting", {"meetingId": late["meeting"]["id"]},
                                   "MeetingRefInput")
    assert agreed["errors"] == []

    as_expert = await page(m.expert, role="EXPERT", first=50)
    assert ids_of(as_expert) == [early["meeting"]["id"], late["meeting"]["id"]]
    assert {e["node"]["viewerRole"] for e in as_expert["edges"]} == {"EXPERT"}
    as_user = await page(m.expert, role="USER", first=50)
    assert ids_of(as_user) == [booked["meeting"]["id"]]
    assert as_user["edges"][0]["node"]["viewerRole"] == "USER"
    anyrole = await page(m.expert, role="ANY", first=50)
    assert ids_of(anyrole) == [early["meeting"]["id"], booked["meeting"]["id"],
                               late["meeting"]["id"]]
    assert anyrole["totalCount"] == 3
    assert (await page(m.user, role="EXPERT"))["totalCount"] == 0

    # Three hours on, the early meeting has ended (it expires on the next sweep).
    frozen.advance(timedelta(hours=3, minutes=1))
    upcoming = await page(m.expert, role="EXPERT", upcoming=True)
    assert ids_of(upcoming) == [late["meeting"]["id"]] and upcoming["totalCount"] == 1
    past = await page(m.expert, role="EXPERT", upcoming=False)
    assert ids_of(past) == [early["meeting"]["id"]]
    statuses = await page(m.expert, status=["AGREED"])
    assert ids_of(statuses) == [late["meeting"]["id"]] and statuses["totalCount"] == 1
    both = await page(m.expert, status=["AGREED", "AWAITING_APPROVAL"], role="EXPERT")
    assert both["totalCount"] == 2
    assert (await page(m.expert, status=["CANCELLED"]))["totalCount"] == 0


NODE_QUERY = "query($id: ID!) { node(id: $id) { __typename id } }"


async def node(who: Any, global_id: str) -> dict[str, Any] | None:
    return (await who.q(NODE_QUERY, {"id": global_id}))["node"]  # type: ignore[no-any-return]


async def test_node_lookup_and_visibility(client: httpx.AsyncClient,
                                          frozen: FrozenClock) -> None:
    m = await market(client)
    stranger = await party(client)
    meeting = (await m.request(at(T0, days=2)))["meeting"]
    notes = (await m.expert.q("{ notifications { edges { node { id kind } } } }"))
    notification_id = notes["notifications"]["edges"][0]["node"]["id"]
    started = await m.user.q(
        "mutation($id: ID!) { startConversation(withAccountId: $id) { conversation { id } "
        "errors { code } } }", {"id": m.expert.id})
    conversation_id = started["startConversation"]["conversation"]["id"]

    private = {meeting["id"]: ("Meeting", (m.user, m.expert)),
               notification_id: ("Notification", (m.expert,)),
               conversation_id: ("Conversation", (m.user, m.expert))}
    for global_id, (typename, owners) in private.items():
        for who in owners:
            assert await node(who, global_id) == {"__typename": typename, "id": global_id}
        assert await node(stranger, global_id) is None, typename
    assert await node(m.user, notification_id) is None  # the expert's, not the user's
    # Profiles and services are public to every authenticated account.
    for global_id, typename in ((m.expert.id, "Account"), (m.service_id, "ExpertService")):
        assert await node(stranger, global_id) == {"__typename": typename, "id": global_id}
    assert await node(stranger, "not-an-id") is None


LEDGER = """{ viewer { credits { available blocked }
  creditLedger(first: 50) { edges { node { kind availableDelta blockedDelta
                                             meeting { id } } } } } }"""


async def test_credit_ledger_adds_up_and_capture_is_in_both(client: httpx.AsyncClient,
                                                             frozen: FrozenClock) -> None:
    from resolvers.system import complete_ended

    m = await market(client)
    meeting = (await m.request(at(T0, days=1)))["meeting"]
    confirmed = await m.expert.mutate("confirmMeeting", {"meetingId": meeting["id"]},
                                      "MeetingRefInput")
    assert confirmed["errors"] == []
    frozen.set(at(T0, days=1, hours=1, minutes=1))
    assert await complete_ended() >= 1

    user = (await m.user.q(LEDGER))["viewer"]
    kinds = [e["node"]["kind"] for e in user["creditLedger"]["edges"]]
    assert kinds == ["CAPTURE", "BLOCK", "GRANT"]  # newest first
    entries = [e["node"] for e in user["creditLedger"]["edges"]]
    assert sum(e["availableDelta"] for e in entries) == user["credits"]["available"] == 450
    assert sum(e["blockedDelta"] for e in entries) == user["credits"]["blocked"] == 0
    assert entries[0] == {"kind": "CAPTURE", "availableDelta": 0, "blockedDelta": -50,
                          "meeting": {"id": meeting["id"]}}

    expert = (await m.expert.q(LEDGER))["viewer"]
    assert [e["node"] for e in expert["creditLedger"]["edges"]] == [
        {"kind": "CAPTURE", "availableDelta": 50, "blockedDelta": 0,
         "meeting": {"id": meeting["id"]}}]
    assert expert["credits"] == {"available": 50, "blocked": 0}
    status = await m.user.q("query($id: ID!) { meeting(id: $id) { status creditPaymentStatus } }",
                            {"id": meeting["id"]})
    assert status["meeting"] == {"status": "COMPLETED", "creditPaymentStatus": "PAID"}


NOTIFICATIONS = "{ notifications(first: 50) { unreadCount edges { node { id kind readAt } } } }"
MARK = """mutation($ids: [ID!]) { markNotificationsRead(ids: $ids) {
  unreadCount errors { code field } } }"""


async def test_notifications_unread_and_mark_read(client: httpx.AsyncClient,
                                                  frozen: FrozenClock) -> None:
    m = await market(client)
    for days in (1, 2, 3):
        assert (await m.request(at(T0, days=days)))["errors"] == []
    other = await market(client)
    assert (await other.request(at(T0, days=1)))["errors"] == []
    foreign = (await other.expert.q(NOTIFICATIONS))["notifications"]["edges"][0]["node"]["id"]

    inbox = (await m.expert.q(NOTIFICATIONS))["notifications"]
    assert inbox["unreadCount"] == 3
    assert {e["node"]["kind"] for e in inbox["edges"]} == {"MEETING_REQUESTED"}
    ids = [e["node"]["id"] for e in inbox["edges"]]

    none = (await m.expert.q(MARK, {"ids": []}))["markNotificationsRead"]
    assert none == {"unreadCount": 3, "errors": []}
    refused = (await m.expert.q(MARK, {"ids": [ids[0], foreign]}))["markNotificationsRead"]
    assert refused["unreadCount"] == 3
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    assert (await m.expert.q(NOTIFICATIONS))["notifications"]["unreadCount"] == 3
    assert (await other.expert.q(NOTIFICATIONS))["notifications"]["unreadCount"] == 1

    one = (await m.expert.q(MARK, {"ids": [ids[0]]}))["markNotificationsRead"]
    assert one == {"unreadCount": 2, "errors": []}
    read = {e["node"]["id"]: e["node"]["readAt"]
            for e in (await m.expert.q(NOTIFICATIONS))["notifications"]["edges"]}
    assert read[ids[0]] is not None and read[ids[1]] is None
    unread_only = await m.expert.q("{ notifications(unreadOnly: true) { edges { node { id } } } }")
    assert {e["node"]["id"] for e in unread_only["notifications"]["edges"]} == set(ids[1:])

    everything = (await m.expert.q(MARK, {"ids": None}))["markNotificationsRead"]
    assert everything == {"unreadCount": 0, "errors": []}
    assert (await other.expert.q(NOTIFICATIONS))["notifications"]["unreadCount"] == 1


START = """mutation($id: ID!) { startConversation(withAccountId: $id) {
  conversation { id participants { id } } errors { code } } }"""
SEND = """mutation($c: ID!, $b: String!) { sendMessage(conversationId: $c, body: $b) {
  message { id kind body author { id } } errors { code } } }"""
CONVERSATIONS = """{ conversations { id messages(first: 10) {
  edges { node { kind body author { id } meeting { id } } } } } }"""


async def test_chat_conversations_and_proposals(client: httpx.AsyncClient,
                                                frozen: FrozenClock) -> None:
    m = await market(client)
    second = await party(client)
    first_start = (await m.user.q(START, {"id": m.expert.id}))["startConversation"]
    assert first_start["errors"] == []
    with_expert = first_start["conversation"]["id"]
    assert {p["id"] for p in first_start["conversation"]["participants"]} == {m.user.id,
                                                                              m.expert.id}
    # Idempotent, from either side.
    again = (await m.expert.q(START, {"id": m.user.id}))["startConversation"]
    assert again["conversation"]["id"] == with_expert
    assert (await m.user.q(START, {"id": m.user.id}))["startConversation"]["errors"][0][
        "code"] == "INVALID_INPUT"
    frozen.advance(timedelta(minutes=1))
    with_second = (await m.user.q(START, {"id": second.id}))["startConversation"][
        "conversation"]["id"]

    async def order() -> list[str]:
        return [c["id"] for c in (await m.user.q(CONVERSATIONS))["conversations"]]

    assert await order() == [with_second, with_expert]
    frozen.advance(timedelta(minutes=1))
    sent = (await m.user.q(SEND, {"c": with_expert, "b": "Hello"}))["sendMessage"]
    assert sent["errors"] == [] and sent["message"]["author"]["id"] == m.user.id
    assert sent["message"]["kind"] == "TEXT"
    assert await order() == [with_expert, with_second]
    frozen.advance(timedelta(minutes=1))
    assert (await second.q(SEND, {"c": with_second, "b": "Hi"}))["sendMessage"]["errors"] == []
    assert await order() == [with_second, with_expert]
    # Not a participant: the conversation does not exist for them.
    assert (await second.q(SEND, {"c": with_expert, "b": "x"}))["sendMessage"]["errors"][0][
        "code"] == "NOT_FOUND"
    notes = (await m.expert.q(NOTIFICATIONS))["notifications"]["edges"]
    assert [n["node"]["kind"] for n in notes] == ["NEW_MESSAGE"]

    # An expert's proposal from the chat posts a proposal message linking the meeting.
    frozen.advance(timedelta(minutes=1))
    proposed = await m.expert.mutate(
        "proposeMeeting",
        {"conversationId": with_expert, "serviceId": m.service_id, "skillId": m.skill_id,
         "startsAt": at(T0, days=2).isoformat(), "lengthMinutes": 45, "priceCredits": 30},
        "ProposeMeetingInput")
    assert proposed["errors"] == []
    meeting_id = proposed["meeting"]["id"]
    conversations = (await m.user.q(CONVERSATIONS))["conversations"]
    assert conversations[0]["id"] == with_expert
    latest = conversations[0]["messages"]["edges"][0]["node"]
    assert latest["kind"] == "MEETING_PROPOSAL"
    assert latest["author"]["id"] == m.expert.id
    assert latest["meeting"] == {"id": meeting_id}
    assert [e["node"]["body"] for e in conversations[0]["messages"]["edges"][1:]] == ["Hello"]
    linked = await m.user.q(
        "query($id: ID!) { meeting(id: $id) { conversation { id meetings { id } } } }",
        {"id": meeting_id})
    assert linked["meeting"]["conversation"]["id"] == with_expert
    assert linked["meeting"]["conversation"]["meetings"] == [{"id": meeting_id}]
    # A pair without a conversation: Meeting.conversation is null.
    other = await market(client)
    lone = (await other.request(at(T0, days=1)))["meeting"]
    found = await other.user.q("query($id: ID!) { meeting(id: $id) { conversation { id } } }",
                               {"id": lone["id"]})
    assert found["meeting"]["conversation"] is None


SLOTS = """query($e: ID!, $from: DateTime!, $to: DateTime!, $len: Int!) {
  expertFreeSlots(expertId: $e, from: $from, to: $to, lengthMinutes: $len) { startsAt endsAt }
}"""


async def test_expert_free_slots(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    expert, user, admin = await party(client), await party(client), await party(client,
                                                                               admin=True)
    data = await expert.q("""mutation {
      createExpertService(input: {title: "Short", skillNames: ["Short"], lengthMinutes: 60,
                                  priceCredits: 10}) { service { id skills { id } } }
      setWeeklyAvailability(input: {timezone: "UTC", rules: [
        {weekday: MONDAY, startTime: "09:00", endTime: "12:00"}]}) { errors { code } }
    }""")
    service = data["createExpertService"]["service"]
    m = Market(expert, user, admin, service["id"], service["skills"][0]["id"])
    await m.grant(user, 100)

    async def slots(length: int, start: Any = None, end: Any = None) -> list[str]:
        found = await user.q(SLOTS, {"e": expert.id, "len": length,
                                     "from": (start or at(T0, hours=-8)).isoformat(),
                                     "to": (end or at(T0, hours=8)).isoformat()})
        return [s["startsAt"][11:16] for s in found["expertFreeSlots"]]

    assert await slots(60) == ["09:00", "10:00", "11:00"]
    assert await slots(90) == ["09:00", "10:30"]
    assert await slots(45) == ["09:00", "09:45", "10:30", "11:15"]
    assert await slots(60, end=at(T0, hours=3, minutes=30)) == ["09:00", "10:00"]
    # A pending request does not take the time; an agreed meeting does.
    pending = await m.request(at(T0, hours=3))  # 11:00
    agreed = await m.request(at(T0, hours=2))  # 10:00
    assert pending["errors"] == [] and agreed["errors"] == []
    assert await slots(60) == ["09:00", "10:00", "11:00"]
    confirmed = await expert.mutate("confirmMeeting", {"meetingId": agreed["meeting"]["id"]},
                                    "MeetingRefInput")
    assert confirmed["errors"] == []
    assert await slots(60) == ["09:00", "11:00"]
    # Only slots that start in the future.
    frozen.set(at(T0, hours=1))  # 09:00 now
    assert await slots(60) == ["11:00"]
    frozen.set(at(T0, hours=1, minutes=1))
    assert await slots(60) == ["11:00"]
    # Next Monday repeats the rule.
    assert await slots(60, at(T0, days=7), at(T0, days=7, hours=8)) == ["09:00", "10:00",
                                                                          "11:00"]
