"""SPEC §9: what is private stays private. The schema is read for every field that hands out
a private object — at the roots, and where one private object points at another — and a
third account, signed in but party to nothing, asks each of them: it gets null, nothing, or
NOT_FOUND (and nothing changes). A new field of that kind fails the first test until it is
probed here."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
from graphql import GraphQLObjectType, build_schema, get_named_type

from app.schema import schema
from core import clock
from models.accounts import Account
from models.calendars import BusyCalendar
from models.chat import Conversation, Message
from models.enums import CreditEntryKind, MessageKind, NotificationKind
from models.ledger import CreditEntry
from models.notifications import Notification
from resolvers import access
from resolvers.context import Context
from schema.scalars import from_global_id, to_global_id
from tests.support.client import Party, at, market, party
from tests.support.clock import T0

START = at(T0, days=3)
# Objects only their participants or owner may see (Viewer: the signed-in account's own).
PRIVATE = {"Meeting", "TimelineEvent", "Conversation", "Message", "Notification",
           "CreditEntry", "CreditBalance", "BusyCalendar", "CalendarFeed", "Viewer"}
TOP = {"Meeting", "Conversation", "Message", "Notification", "CreditEntry", "BusyCalendar"}
WRAPPERS = ("Connection", "Edge", "Payload")


def _reaches_private(sdl_schema: Any, type_name: str, seen: frozenset[str] = frozenset()) -> bool:
    if type_name in PRIVATE or type_name == "Node":
        return True
    named = sdl_schema.get_type(type_name)
    if not isinstance(named, GraphQLObjectType) or type_name in seen:
        return False
    if not (type_name.endswith(WRAPPERS) or type_name == "MeetingChange"):
        return False
    return any(_reaches_private(sdl_schema, get_named_type(f.type).name, seen | {type_name})
               for f in named.fields.values())


def private_fields() -> set[str]:
    """Root fields that reach a private object, and fields by which one private object
    hands out another."""
    sdl = build_schema(schema.as_str())
    found = set()
    for root in ("Query", "Mutation", "Subscription"):
        for name, field in sdl.get_type(root).fields.items():  # type: ignore[union-attr]
            if _reaches_private(sdl, get_named_type(field.type).name):
                found.add(f"{root}.{name}")
    for owner in sorted(TOP):
        for name, field in sdl.get_type(owner).fields.items():  # type: ignore[union-attr]
            target = get_named_type(field.type).name
            if target.endswith(WRAPPERS):  # a connection: its nodes' type
                edges = sdl.get_type(target).fields.get("edges")  # type: ignore[union-attr]
                node = edges and get_named_type(edges.type).fields["node"]  # type: ignore[union-attr]
                target = get_named_type(node.type).name if node else target
            if target in TOP and target != owner:
                found.add(f"{owner}.{name}")
    return found


async def _first_event(query: str, variables: dict[str, Any], account: Account) -> Any:
    stream = await schema.subscribe(query, variable_values=variables,
                                    context_value=Context(account=account))
    assert isinstance(stream, AsyncIterator)
    async for result in stream:
        return result
    return None


def _codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def test_a_third_account_gets_nothing_private(client: httpx.AsyncClient) -> None:
    checked: set[str] = set()
    m = await market(client)
    meeting = (await m.request(START))["meeting"]
    mid = meeting["id"]
    assert (await m.expert.mutate("confirmMeeting", {"meetingId": mid},
                                  "MeetingRefInput"))["errors"] == []
    started = await m.user.q("mutation($a: ID!) { startConversation(withAccountId: $a) { "
                             "conversation { id } } }", {"a": m.expert.id})
    cid = started["startConversation"]["conversation"]["id"]
    sent = await m.user.q('mutation($c: ID!) { sendMessage(conversationId: $c, body: "hi") { '
                          "message { id } } }", {"c": cid})
    message_id = sent["sendMessage"]["message"]["id"]
    user_note = (await m.user.q("{ notifications { edges { node { id } } } }")
                 )["notifications"]["edges"][0]["node"]["id"]
    user_entry = (await m.user.q("{ viewer { creditLedger { edges { node { id } } } } }")
                  )["viewer"]["creditLedger"]["edges"][0]["node"]["id"]
    expert_pk = from_global_id(m.expert.id, "Account")
    calendar = await BusyCalendar.create(expert_id=expert_pk, name="Work",
                                         url="https://calendar.example/work.ics",
                                         next_fetch_at=clock.now(), created_at=clock.now())
    calendar_id = to_global_id("BusyCalendar", calendar.id)
    feed_url = (await m.expert.q("mutation { rotateCalendarFeed { feed { url } } }")
                )["rotateCalendarFeed"]["feed"]["url"]
    x: Party = await party(client)
    x_row = await Account.get(id=from_global_id(x.id, "Account"))
    version = meeting["version"] + 1

    # --- Query ------------------------------------------------------------------------------
    for node_id in (mid, cid, message_id, user_note, user_entry, calendar_id):
        assert (await x.q("query($i: ID!) { node(id: $i) { id } }", {"i": node_id})
                )["node"] is None, node_id
    checked.add("Query.node")
    viewer = (await x.q("{ viewer { credits { available blocked } creditLedger { edges { "
                        "node { id } } } calendarFeed { url } busyCalendars { id } } }")
              )["viewer"]
    assert viewer == {"credits": {"available": 0, "blocked": 0},
                      "creditLedger": {"edges": []}, "calendarFeed": None, "busyCalendars": []}
    checked.add("Query.viewer")
    assert (await x.q("query($i: ID!) { meeting(id: $i) { id } }", {"i": mid}))["meeting"] is None
    checked.add("Query.meeting")
    assert (await x.q("{ meetings { totalCount edges { node { id } } } }"))["meetings"] == {
        "totalCount": 0, "edges": []}
    checked.add("Query.meetings")
    assert (await x.q("{ notifications { edges { node { id } } } }"))["notifications"] == {
        "edges": []}
    checked.add("Query.notifications")
    assert (await x.q("query($i: ID!) { conversation(id: $i) { id } }", {"i": cid})
            )["conversation"] is None
    checked.add("Query.conversation")
    assert (await x.q("{ conversations { id } }"))["conversations"] == []
    checked.add("Query.conversations")

    # --- Mutation: on the pair's meeting, conversation, calendar ------------------------------
    ref = {"meetingId": mid}
    for name, input_type, extra in (
            ("confirmMeeting", "MeetingRefInput", {}),
            ("declineMeeting", "DeclineMeetingInput", {"reasonCode": "OTHER"}),
            ("cancelMeeting", "CancelMeetingInput", {"reasonCode": "OTHER",
                                                     "acknowledgeLateCancellation": True}),
            ("rescheduleMeeting", "RescheduleMeetingInput",
             {"startsAt": at(START, days=1).isoformat()}),
            ("confirmAlternativeDate", "MeetingRefInput", {}),
            ("rejectAlternativeDate", "RejectAlternativeDateInput", {"reasonCode": "OTHER"}),
            ("cancelAlternativeDate", "MeetingRefInput", {})):
        answer = await x.mutate(name, {**ref, **extra}, input_type)
        assert answer["meeting"] is None and answer["errors"] == [{
            "code": "NOT_FOUND", "message": "Meeting not found.", "field": "meetingId"}], name
        checked.add(f"Mutation.{name}")
    assert (await m.user.q("query($i: ID!) { meeting(id: $i) { version } }", {"i": mid})
            )["meeting"]["version"] == version  # nothing changed
    for source in ({"fromMeetingId": mid}, {"conversationId": cid}):
        proposal = await x.mutate("proposeMeeting", {
            **source, "serviceId": m.service_id, "skillId": m.skill_id,
            "startsAt": START.isoformat(), "lengthMinutes": 60, "priceCredits": 10},
            "ProposeMeetingInput")
        assert proposal["meeting"] is None and _codes(proposal) == ["NOT_FOUND"], source
    checked.add("Mutation.proposeMeeting")
    own = await x.q("mutation($a: ID!) { startConversation(withAccountId: $a) { "
                    "conversation { id } } }", {"a": m.user.id})
    assert own["startConversation"]["conversation"]["id"] != cid  # the pair's own, new one
    checked.add("Mutation.startConversation")
    refused = await x.q('mutation($c: ID!) { sendMessage(conversationId: $c, body: "x") { '
                        "message { id } errors { code } } }", {"c": cid})
    assert refused["sendMessage"] == {"message": None, "errors": [{"code": "NOT_FOUND"}]}
    checked.add("Mutation.sendMessage")
    grant = await x.q("mutation($i: GrantCreditsInput!) { grantCredits(input: $i) { "
                      "balance { available } errors { code } } }",
                      {"i": {"accountId": m.user.id, "amount": 5, "reference": "x-grant"}})
    assert grant["grantCredits"] == {"balance": None, "errors": [{"code": "FORBIDDEN"}]}
    checked.add("Mutation.grantCredits")
    marked = await x.q("mutation($i: [ID!]) { markNotificationsRead(ids: $i) { "
                       "notifications { id } errors { code field } } }", {"i": [user_note]})
    assert marked["markNotificationsRead"] == {
        "notifications": [], "errors": [{"code": "NOT_FOUND", "field": "ids[0]"}]}
    assert (await m.user.q("query($i: ID!) { node(id: $i) { ... on Notification { readAt } } }",
                           {"i": user_note}))["node"] == {"readAt": None}
    checked.add("Mutation.markNotificationsRead")
    for name in ("refreshBusyCalendar", "removeBusyCalendar"):
        answer = await x.q(f"mutation($i: ID!) {{ {name}(id: $i) {{ calendar {{ id }} "
                           "errors { code } } }", {"i": calendar_id})
        assert answer[name] == {"calendar": None, "errors": [{"code": "NOT_FOUND"}]}, name
        checked.add(f"Mutation.{name}")
    assert await BusyCalendar.exists(id=calendar.id)
    added = await x.q('mutation { addBusyCalendar(input: {url: "not a url", name: "Mine"}) { '
                      "calendar { id } errors { code } } }")
    assert added["addBusyCalendar"]["calendar"] is None  # only ever the viewer's own
    checked.add("Mutation.addBusyCalendar")
    rotated = (await x.q("mutation { rotateCalendarFeed { feed { url } } }")
               )["rotateCalendarFeed"]["feed"]["url"]
    assert rotated != feed_url  # the viewer's own feed
    checked.add("Mutation.rotateCalendarFeed")
    await m.grant(x, 100)
    requested = await m.request(at(START, days=2), user=x)
    assert requested["meeting"]["viewerRole"] == "USER"  # a meeting of its own
    checked.add("Mutation.requestMeeting")

    # --- Subscription -------------------------------------------------------------------------
    first = await _first_event("subscription($i: ID) { meetingChanged(meetingId: $i) { "
                               "meeting { id } } }", {"i": mid}, x_row)
    assert [e.extensions["code"] for e in first.errors] == ["NOT_FOUND"]
    checked.add("Subscription.meetingChanged")
    first = await _first_event("subscription($c: ID!) { messageAdded(conversationId: $c) { "
                               "id } }", {"c": cid}, x_row)
    assert [e.extensions["code"] for e in first.errors] == ["NOT_FOUND"]
    checked.add("Subscription.messageAdded")
    # The viewer's own channel; each event's row is read through the same owner check.
    assert await access.own_notification(x_row, from_global_id(user_note, "Notification")) is None
    checked.add("Subscription.notificationReceived")

    # --- One private object pointing at another ------------------------------------------------
    meeting_pk = from_global_id(mid, "Meeting")
    # Rows of x's own that name the pair's meeting (no code path writes such rows: the
    # fields must still not hand the meeting out).
    pointing = await Notification.create(
        recipient_id=x_row.id, kind=NotificationKind.MEETING_REMINDER, title="t", body="b",
        meeting_id=meeting_pk, created_at=clock.now())
    entry = await CreditEntry.create(
        account_id=x_row.id, kind=CreditEntryKind.GRANT, available_delta=0, blocked_delta=0,
        meeting_id=meeting_pk, created_at=clock.now())
    for type_name, pk in (("Notification", pointing.id), ("CreditEntry", entry.id)):
        found = await x.q(f"query($i: ID!) {{ node(id: $i) {{ ... on {type_name} {{ "
                          "meeting { id } } } }", {"i": to_global_id(type_name, pk)})
        assert found["node"] == {"meeting": None}, type_name
        checked.add(f"{type_name}.meeting")
    x_conversation = await Conversation.get(id=from_global_id(
        own["startConversation"]["conversation"]["id"], "Conversation"))
    await Message.create(conversation=x_conversation, author_id=x_row.id, kind=MessageKind.TEXT,
                         body="see", meeting_id=meeting_pk, created_at=clock.now())
    pair = await x.q("query($i: ID!) { conversation(id: $i) { meetings { id } messages { "
                     "edges { node { id meeting { id } } } } } }",
                     {"i": own["startConversation"]["conversation"]["id"]})
    messages = pair["conversation"]["messages"]["edges"]
    assert [e["node"]["meeting"] for e in messages] == [None]
    assert message_id not in [e["node"]["id"] for e in messages]
    checked |= {"Message.meeting", "Conversation.messages"}
    assert pair["conversation"]["meetings"] == []  # the pair x–user has no meeting
    checked.add("Conversation.meetings")
    mine = (await x.q("query($i: ID!) { meeting(id: $i) { conversation { id } } }",
                      {"i": requested["meeting"]["id"]}))["meeting"]
    assert mine["conversation"] is None  # x–expert have not chatted; never the pair's
    checked.add("Meeting.conversation")

    assert checked == private_fields()
