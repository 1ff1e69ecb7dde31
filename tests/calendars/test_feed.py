"""The account's calendar feed through the API and `GET /calendar/<secret>.ics`, read back with
two independent parsers (icalendar and ics), and matched against the e-mail invitations."""

import asyncio
import email
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import ics
import pytest
from icalendar import Calendar

from core.clock import FrozenClock
from models.calendars import CalendarFeed
from resolvers import calendar_feed
from tests.support.client import Party, at, market
from tests.support.clock import T0
from tests.support.peers import Inbox
from tests.support.workers import agreed, cancel, move, send_due_emails, set_email
from workers.conferencing.relay import relay_conference_jobs

ROTATE = "mutation { rotateCalendarFeed { feed { url createdAt } errors { code } } }"


async def rotate(who: Party) -> str:
    payload = (await who.q(ROTATE))["rotateCalendarFeed"]
    assert payload["errors"] == []
    url: str = payload["feed"]["url"]
    assert url.startswith("http://test/calendar/") and url.endswith(".ics")
    return url


async def get(http: httpx.AsyncClient, url: str, **headers: str) -> httpx.Response:
    return await http.get(urlsplit(url).path, headers=headers)


def events(body: bytes) -> dict[str, Any]:
    """VEVENTs by UID, after checking that `ics` reads the same feed the same way."""
    cal = Calendar.from_ical(body)
    by_uid = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    other = ics.Calendar(body.decode())
    assert {e.uid for e in other.events} == set(by_uid)
    for e in other.events:
        mine = by_uid[e.uid]
        assert e.begin.datetime == mine.decoded("DTSTART")
        assert e.end.datetime == mine.decoded("DTEND")
        assert e.status == str(mine["STATUS"])
    return by_uid


def attachment(data: bytes) -> tuple[str, str, int]:
    for part in email.message_from_bytes(data).walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            [event] = Calendar.from_ical(payload).walk("VEVENT")
            method = str(Calendar.from_ical(payload)["METHOD"])
            return method, str(event["UID"]), int(event["SEQUENCE"])
    raise AssertionError("no invite attached")


async def test_feed_follows_the_meeting_and_matches_the_email_invites(
        client: httpx.AsyncClient, frozen: FrozenClock, env: Callable[..., None],
        smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env(smtp_url=f"smtp://127.0.0.1:{port}")
    start = at(T0, days=3)
    m, mid = await agreed(client, start)
    await set_email(m.user, f"feed-user-{mid}@example.com")
    await relay_conference_jobs(in_process=True)  # the conference link
    await send_due_emails()
    assert (await m.user.q("{ viewer { calendarFeed { url } } }"))["viewer"]["calendarFeed"] \
        is None
    user_url, expert_url = await rotate(m.user), await rotate(m.expert)
    assert user_url != expert_url

    response = await get(client, expert_url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "max-age" in response.headers["cache-control"]
    assert b"DTSTART:" in response.content and b"Z\r\n" in response.content  # UTC times
    cal = Calendar.from_ical(response.content)
    assert (str(cal["METHOD"]), cal["X-PUBLISHED-TTL"].to_ical(),
            cal["REFRESH-INTERVAL"].to_ical()) == ("PUBLISH", b"PT15M", b"PT15M")
    [event] = events(response.content).values()
    method, uid, sequence = attachment(inbox.to(f"feed-user-{mid}@example.com")[0])
    assert (method, str(event["UID"]), int(event["SEQUENCE"])) == ("REQUEST", uid, sequence)
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert str(event["URL"]).startswith("https://") and str(event["URL"]) in str(
        event["DESCRIPTION"])
    description = str(event["DESCRIPTION"])
    user_name = (await m.user.q("{ viewer { account { displayName } } }"))["viewer"][
        "account"]["displayName"]
    assert "Service: Advice" in description and f"Client: {user_name}" in description
    # The user's feed shows the same meeting, with the expert as the other party.
    [seen_by_user] = events((await get(client, user_url)).content).values()
    assert str(seen_by_user["UID"]) == uid and "Expert: " in str(seen_by_user["DESCRIPTION"])

    # Unchanged: 304 for the ETag; a new date: a new body, the next SEQUENCE, as in e-mail.
    etag = response.headers["etag"]
    unchanged = await get(client, expert_url, **{"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert unchanged.headers["etag"] == etag
    await move(m, mid, at(T0, days=5))
    moved = await get(client, expert_url, **{"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["etag"] != etag
    [event] = events(moved.content).values()
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, sequence + 1)
    assert event.decoded("DTSTART") == at(T0, days=5)

    await cancel(m, mid)
    await send_due_emails()
    [event] = events((await get(client, expert_url)).content).values()
    assert str(event["STATUS"]) == "CANCELLED"
    assert (str(event["UID"]), int(event["SEQUENCE"])) == (uid, sequence + 2)
    cancel_mail = inbox.to(f"feed-user-{mid}@example.com")[-1]
    assert attachment(cancel_mail) == ("CANCEL", uid, sequence + 2)

    # Thirty days after its date, a called-off meeting leaves the feed.
    frozen.advance(timedelta(days=36))
    assert events((await get(client, expert_url)).content) == {}


async def test_awaiting_is_tentative_and_a_declined_request_becomes_cancelled(
        client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    requested = await m.request(at(T0, days=2))
    mid = requested["meeting"]["id"]
    url = await rotate(m.expert)
    [event] = events((await get(client, url)).content).values()
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("TENTATIVE", 0)
    declined = await m.expert.mutate("declineMeeting", {"meetingId": mid,
                                                        "reasonCode": "NOT_AVAILABLE"},
                                     "DeclineMeetingInput")
    assert declined["errors"] == []
    [again] = events((await get(client, url)).content).values()
    assert (str(again["UID"]), str(again["STATUS"]), int(again["SEQUENCE"])) \
        == (str(event["UID"]), "CANCELLED", 1)


async def test_a_meeting_called_off_before_any_calendar_saw_it_is_left_out(
        client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m, mid = await agreed(client, at(T0, days=4))
    await cancel(m, mid)
    assert events((await get(client, await rotate(m.expert))).content) == {}


async def test_past_the_limit_the_latest_meetings_are_kept(
        client: httpx.AsyncClient, frozen: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    m = await market(client)
    starts = [at(T0, days=d) for d in (2, 3, 4)]
    for start in starts:
        assert (await m.request(start))["errors"] == []
    monkeypatch.setattr(calendar_feed, "MAX_MEETINGS", 2)
    feed = events((await get(client, await rotate(m.expert))).content)
    assert sorted(e.decoded("DTSTART") for e in feed.values()) == starts[1:]


async def test_rotating_makes_the_old_url_unknown(client: httpx.AsyncClient,
                                                 frozen: FrozenClock) -> None:
    m, mid = await agreed(client, at(T0, days=3))
    old = await rotate(m.expert)
    assert (await get(client, old)).status_code == 200
    frozen.advance(timedelta(minutes=1))
    new = await rotate(m.expert)
    assert new != old
    gone = await get(client, old)
    assert (gone.status_code, gone.content) == (404, b"")
    assert "etag" not in gone.headers
    assert (await get(client, new)).status_code == 200
    feed = (await m.expert.q("{ viewer { calendarFeed { url createdAt } } }"))["viewer"][
        "calendarFeed"]
    assert feed == {"url": new, "createdAt": frozen.now().isoformat().replace("+00:00", "Z")}


async def test_concurrent_first_rotations_leave_one_working_url(
        client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client, credits=0)
    payloads = await asyncio.gather(*(m.expert.q(ROTATE) for _ in range(4)))
    assert all(p["rotateCalendarFeed"]["errors"] == [] for p in payloads)
    current = (await m.expert.q("{ viewer { calendarFeed { url } } }"))["viewer"][
        "calendarFeed"]["url"]
    statuses = [(await get(client, p["rotateCalendarFeed"]["feed"]["url"])).status_code
                for p in payloads]
    assert (await get(client, current)).status_code == 200
    assert statuses.count(200) == 1


async def test_unknown_and_malformed_secrets_get_a_bare_404(client: httpx.AsyncClient,
                                                            frozen: FrozenClock) -> None:
    m = await market(client, credits=0)
    url = await rotate(m.expert)
    secret = urlsplit(url).path.removeprefix("/calendar/").removesuffix(".ics")
    assert len(secret) >= 43
    flipped = ("A" if secret[0] != "A" else "B") + secret[1:]
    for path in (f"/calendar/{flipped}.ics", "/calendar/short.ics",
                 f"/calendar/{secret}x.ics", f"/calendar/{secret}.ics.bak",
                 "/calendar/" + "é" * 43 + ".ics"):
        response = await client.get(path)
        assert (response.status_code, response.content) == (404, b""), path


async def test_the_secret_is_stored_hashed_only(client: httpx.AsyncClient,
                                                frozen: FrozenClock) -> None:
    m = await market(client, credits=0)
    url = await rotate(m.expert)
    secret = urlsplit(url).path.removeprefix("/calendar/").removesuffix(".ics")
    rows = await CalendarFeed.all().values()
    assert rows and not any(secret in str(value) for row in rows for value in row.values())


async def test_production_needs_a_key_of_its_own(client: httpx.AsyncClient,
                                                 frozen: FrozenClock,
                                                 env: Callable[..., None]) -> None:
    m = await market(client, credits=0)
    env(environment="production")
    payload = (await m.expert.q(ROTATE))["rotateCalendarFeed"]
    assert payload == {"feed": None, "errors": [{"code": "FORBIDDEN"}]}
    env(calendar_feed_key="k" * 40)
    assert (await m.expert.q(ROTATE))["rotateCalendarFeed"]["errors"] == []


async def test_feed_needs_an_account(client: httpx.AsyncClient) -> None:
    body = (await client.post("/graphql", json={"query": ROTATE})).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
