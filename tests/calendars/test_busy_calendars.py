"""Busy calendars through the API and the worker, against a real local HTTP server: what they
make busy is not free (slots, requests, user-proposed dates), confirming over it warns, and
bad answers keep the last good copy."""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from icalendar import Calendar
from prometheus_client import REGISTRY

from core.clock import FrozenClock
from models.calendars import BusyInterval
from resolvers.busy_calendars import refresh_due
from schema.scalars import from_global_id
from tests.support.calendars import FIXTURES, CalendarServer
from tests.support.client import Market, Party, market
from workers.embedded import run_embedded

NOW = datetime(2027, 2, 26, 12, 0, tzinfo=UTC)
MONDAY = datetime(2027, 3, 1, tzinfo=UTC)  # the fixture is busy 09:00-10:00 UTC that day
FIELDS = "id name url lastFetchedAt lastError busyCount"
ADD = f"""mutation($i: AddBusyCalendarInput!) {{
  addBusyCalendar(input: $i) {{ calendar {{ {FIELDS} }} errors {{ code message field }} }} }}"""
SLOTS = """query($e: ID!, $f: DateTime!, $t: DateTime!) {
  expertFreeSlots(expertId: $e, from: $f, to: $t, lengthMinutes: 60) { startsAt } }"""
EMPTY = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fixtures//empty//EN\r\n"
         b"END:VCALENDAR\r\n")


def one_event(start: datetime, end: datetime, uid: str = "later@fixtures") -> bytes:
    return (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fixtures//one//EN\r\n"
            b"BEGIN:VEVENT\r\nUID:" + uid.encode() + b"\r\nDTSTAMP:20270201T000000Z\r\n"
            b"DTSTART:" + start.strftime("%Y%m%dT%H%M%SZ").encode() + b"\r\n"
            b"DTEND:" + end.strftime("%Y%m%dT%H%M%SZ").encode() + b"\r\n"
            b"SUMMARY:Busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def jobs(outcome: str) -> float:
    value = REGISTRY.get_sample_value("meetings_jobs_total",
                                      {"actor": "busy_calendar", "outcome": outcome})
    return value or 0.0


async def add(who: Party, url: str, name: str = "Work") -> dict[str, Any]:
    data = await who.q(ADD, {"i": {"url": url, "name": name}})
    return data["addBusyCalendar"]  # type: ignore[no-any-return]


async def calendars(who: Party) -> list[dict[str, Any]]:
    data = await who.q(f"{{ viewer {{ busyCalendars {{ {FIELDS} }} }} }}")
    return data["viewer"]["busyCalendars"]  # type: ignore[no-any-return]


async def slot_hours(m: Market, day: datetime, hours: int = 6, start_hour: int = 7) -> list[int]:
    data = await m.user.q(SLOTS, {"e": m.expert.id,
                                  "f": (day + timedelta(hours=start_hour)).isoformat(),
                                  "t": (day + timedelta(hours=start_hour + hours)).isoformat()})
    return [datetime.fromisoformat(s["startsAt"]).hour for s in data["expertFreeSlots"]]


@pytest.fixture
async def m(client: httpx.AsyncClient, frozen: FrozenClock) -> Market:
    frozen.set(NOW)
    return await market(client)


async def test_add_list_node_refresh_remove(m: Market, calendar_server: CalendarServer,
                                            client: httpx.AsyncClient) -> None:
    added = await add(m.expert, calendar_server.url("/expert.ics"))
    assert added["errors"] == []
    calendar = added["calendar"]
    assert calendar["busyCount"] == 10 and calendar["lastError"] is None
    assert calendar["lastFetchedAt"] == "2027-02-26T12:00:00Z"
    assert await calendars(m.expert) == [calendar]
    node = "query($id: ID!) { node(id: $id) { ... on BusyCalendar { name } } }"
    assert (await m.expert.q(node, {"id": calendar["id"]}))["node"] == {"name": "Work"}
    assert (await m.user.q(node, {"id": calendar["id"]}))["node"] is None  # not theirs
    assert await calendars(m.user) == []
    for name in ("refreshBusyCalendar", "removeBusyCalendar"):
        stranger = (await m.user.q(f'mutation($id: ID!) {{ {name}(id: $id) {{ '
                                   f'errors {{ code field }} }} }}', {"id": calendar["id"]}))
        assert stranger[name]["errors"] == [{"code": "NOT_FOUND", "field": "id"}]

    refreshed = (await m.expert.q(
        f'mutation($id: ID!) {{ refreshBusyCalendar(id: $id) {{ calendar {{ {FIELDS} }} '
        'errors { code } } }', {"id": calendar["id"]}))["refreshBusyCalendar"]
    assert refreshed == {"calendar": calendar, "errors": []}
    assert calendar_server.count("/expert.ics", 200) == 2
    assert await slot_hours(m, MONDAY) == [7, 8, 10, 11, 12]

    removed = (await m.expert.q(
        'mutation($id: ID!) { removeBusyCalendar(id: $id) { calendar { name } '
        'errors { code } } }', {"id": calendar["id"]}))["removeBusyCalendar"]
    assert removed == {"calendar": {"name": "Work"}, "errors": []}
    assert await calendars(m.expert) == []
    pk = from_global_id(calendar["id"], "BusyCalendar")
    assert not await BusyInterval.filter(calendar_id=pk).exists()
    assert await slot_hours(m, MONDAY) == [7, 8, 9, 10, 11, 12]


@pytest.mark.parametrize("path, message", [
    ("/page.html", "HTML"),
    ("/garbage", "BEGIN:VCALENDAR"),
    ("/huge.ics?declared=0", "larger than"),
    ("/huge.ics?declared=1", "larger than"),
    ("/nothing.ics", "HTTP 404"),
])
async def test_a_url_that_gives_no_calendar_adds_nothing(
        m: Market, calendar_server: CalendarServer, path: str, message: str) -> None:
    added = await add(m.expert, calendar_server.url(path))
    assert added["calendar"] is None
    [error] = added["errors"]
    assert (error["code"], error["field"]) == ("INVALID_INPUT", "url")
    assert message in error["message"]
    assert await calendars(m.expert) == []


@pytest.mark.parametrize("url, message", [
    ("not a url", "not an http(s) URL"),
    ("ftp://example.com/cal.ics", "not an http(s) URL"),
    ("https://" + "a" * 2050 + ".example/x.ics", "longer than"),
])
async def test_not_a_url_adds_nothing(m: Market, url: str, message: str) -> None:
    added = await add(m.expert, url)
    assert added["calendar"] is None and message in added["errors"][0]["message"]
    assert await calendars(m.expert) == []


async def test_production_takes_only_public_https(m: Market, calendar_server: CalendarServer,
                                                  env: Callable[..., None]) -> None:
    env(environment="production")
    added = await add(m.expert, calendar_server.url("/expert.ics"))
    assert added["errors"][0]["message"] == "Only https:// calendar URLs are fetched."
    added = await add(m.expert, f"https://127.0.0.1:{calendar_server.port}/expert.ics")
    assert "not on the public internet" in added["errors"][0]["message"]
    added = await add(m.expert, "https://localhost/expert.ics")
    assert "not on the public internet" in added["errors"][0]["message"]
    assert await calendars(m.expert) == []
    assert calendar_server.count("/expert.ics", 200) == 0


async def test_name_and_duplicates_are_checked(m: Market, calendar_server: CalendarServer) -> None:
    url = calendar_server.url("/expert.ics")
    assert (await add(m.expert, url, name="  "))["errors"][0]["field"] == "name"
    assert (await add(m.expert, url))["errors"] == []
    again = await add(m.expert, url, name="Again")
    assert again["errors"][0]["message"] == "This calendar is already added."
    assert [c["name"] for c in await calendars(m.expert)] == ["Work"]


async def test_a_broken_event_among_good_ones(m: Market, calendar_server: CalendarServer) -> None:
    added = await add(m.expert, calendar_server.url("/broken.ics"))
    assert added["errors"] == []
    assert added["calendar"]["busyCount"] == 2
    assert "'Broken one' (UID broken-one@fixtures)" in added["calendar"]["lastError"]


async def test_a_failed_fetch_keeps_the_last_good_copy(
        m: Market, calendar_server: CalendarServer, frozen: FrozenClock) -> None:
    calendar_server.files["/mutable.ics"] = (FIXTURES / "expert.ics").read_bytes()
    first = (await add(m.expert, calendar_server.url("/mutable.ics")))["calendar"]
    refresh = ('mutation($id: ID!) { refreshBusyCalendar(id: $id) { calendar { '
               f'{FIELDS} }} }} }}')
    for bad, words in ((b"<html><body>Maintenance</body></html>", "HTML"),
                       (b"BEGIN:VCALENDAR\r\nno colon here\r\n", "readable")):
        frozen.advance(timedelta(minutes=5))
        calendar_server.files["/mutable.ics"] = bad
        state = (await m.expert.q(refresh, {"id": first["id"]}))["refreshBusyCalendar"][
            "calendar"]
        assert words in state["lastError"]
        assert (state["busyCount"], state["lastFetchedAt"]) == (10, first["lastFetchedAt"])
    del calendar_server.files["/mutable.ics"]
    state = (await m.expert.q(refresh, {"id": first["id"]}))["refreshBusyCalendar"]["calendar"]
    assert "HTTP 404" in state["lastError"] and state["busyCount"] == 10
    assert await slot_hours(m, MONDAY) == [7, 8, 10, 11, 12]
    # Good again: the error clears, the new copy replaces the old.
    frozen.advance(timedelta(minutes=5))
    calendar_server.files["/mutable.ics"] = EMPTY
    state = (await m.expert.q(refresh, {"id": first["id"]}))["refreshBusyCalendar"]["calendar"]
    assert (state["lastError"], state["busyCount"]) == (None, 0)
    assert state["lastFetchedAt"] == "2027-02-26T12:15:00Z"


async def test_the_worker_reuses_the_etag(m: Market, calendar_server: CalendarServer,
                                          frozen: FrozenClock) -> None:
    calendar = (await add(m.expert, calendar_server.url("/etag.ics")))["calendar"]
    assert calendar["lastFetchedAt"] == "2027-02-26T12:00:00Z"
    frozen.advance(timedelta(minutes=14))
    await refresh_due()  # not due yet: not fetched
    assert calendar_server.count("/etag.ics", 200) == 1
    assert calendar_server.count("/etag.ics", 304) == 0
    frozen.advance(timedelta(minutes=2))
    before = jobs("not_modified")
    await refresh_due()
    assert jobs("not_modified") == before + 1  # meetings_jobs_total{actor="busy_calendar"}
    assert (calendar_server.count("/etag.ics", 200), calendar_server.count("/etag.ics", 304)) \
        == (1, 1)
    state = (await calendars(m.expert))[0]
    assert state["busyCount"] == 10 and state["lastFetchedAt"] == "2027-02-26T12:16:00Z"
    # After a day the file is fetched in full again: the horizon has moved on.
    frozen.advance(timedelta(hours=25))
    await refresh_due()
    assert (calendar_server.count("/etag.ics", 200), calendar_server.count("/etag.ics", 304)) \
        == (2, 1)


async def test_a_new_time_zone_reads_all_day_and_floating_times_again(
        m: Market, calendar_server: CalendarServer) -> None:
    # The offsite is all day on 10-11 March: midnight to midnight in the expert's zone.
    assert (await add(m.expert, calendar_server.url("/etag.ics")))["errors"] == []
    eve, end = datetime(2027, 3, 9, tzinfo=UTC), datetime(2027, 3, 11, tzinfo=UTC)
    assert await slot_hours(m, eve, hours=4, start_hour=20) == [20, 21, 22, 23]
    assert await slot_hours(m, end, hours=4, start_hour=22) == [0, 1]
    days = ", ".join(f'{{weekday: {d}, startTime: "00:00", endTime: "24:00"}}' for d in (
        "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"))
    data = await m.expert.q(f"""mutation {{ setWeeklyAvailability(input: {{
      timezone: "Europe/Berlin", rules: [{days}]}}) {{ errors {{ code }} }} }}""")
    assert data["setWeeklyAvailability"]["errors"] == []
    await refresh_due()  # due at once, and fetched in full (no If-None-Match)
    assert (calendar_server.count("/etag.ics", 200), calendar_server.count("/etag.ics", 304)) \
        == (2, 0)
    assert await slot_hours(m, eve, hours=4, start_hour=20) == [20, 21, 22]
    assert await slot_hours(m, end, hours=4, start_hour=22) == [23, 0, 1]


async def test_busy_time_is_not_free_for_requests_and_user_dates(
        m: Market, calendar_server: CalendarServer) -> None:
    assert (await add(m.expert, calendar_server.url("/expert.ics")))["errors"] == []
    busy = await m.request(MONDAY + timedelta(hours=9))
    assert busy["errors"][0]["code"] == "OUTSIDE_AVAILABILITY"
    overlapping = await m.request(MONDAY + timedelta(hours=8, minutes=30))
    assert overlapping["errors"][0]["code"] == "OUTSIDE_AVAILABILITY"
    free = await m.request(MONDAY + timedelta(hours=11))
    assert free["errors"] == []
    mid = free["meeting"]["id"]
    agreed = await m.expert.mutate("confirmMeeting", {"meetingId": mid}, "MeetingRefInput")
    assert agreed["meeting"]["status"] == "AGREED"
    moved = await m.user.mutate("rescheduleMeeting", {
        "meetingId": mid, "startsAt": (MONDAY + timedelta(hours=9)).isoformat()},
        "RescheduleMeetingInput")
    assert moved["errors"][0]["code"] == "OUTSIDE_AVAILABILITY"
    # The all-day offsite (10-11 March in the expert's zone, UTC here) has no slot at all.
    assert await slot_hours(m, datetime(2027, 3, 10, tzinfo=UTC), hours=12) == []


async def test_confirming_over_a_busy_time_warns_the_expert(
        m: Market, calendar_server: CalendarServer) -> None:
    start = MONDAY + timedelta(hours=12)
    requested = await m.request(start)
    assert requested["errors"] == []
    calendar_server.files["/later.ics"] = one_event(start + timedelta(minutes=30),
                                                    start + timedelta(hours=2))
    assert (await add(m.expert, calendar_server.url("/later.ics"), "Family"))["errors"] == []
    data = await m.expert.q(
        "mutation($i: MeetingRefInput!) { confirmMeeting(input: $i) { meeting { status } "
        "errors { code } warnings { code message conflictingMeetings { id } } } }",
        {"i": {"meetingId": requested["meeting"]["id"]}})
    payload = data["confirmMeeting"]
    assert payload["meeting"]["status"] == "AGREED" and payload["errors"] == []
    [warning] = payload["warnings"]
    assert warning["code"] == "BUSY_IN_CALENDAR" and "Family" in warning["message"]
    assert warning["conflictingMeetings"] == []


async def test_a_user_confirming_is_not_told_the_experts_calendar(
        m: Market, calendar_server: CalendarServer) -> None:
    # The expert's calendar names are theirs; the expert proposed this date knowingly.
    start = MONDAY + timedelta(hours=12)
    calendar_server.files["/later.ics"] = one_event(start, start + timedelta(hours=1))
    assert (await add(m.expert, calendar_server.url("/later.ics"), "Family"))["errors"] == []
    proposed = await m.propose(start)
    assert proposed["errors"] == []
    confirmed = await m.user.mutate("confirmMeeting", {"meetingId": proposed["meeting"]["id"]},
                                    "MeetingRefInput")
    assert confirmed["errors"] == [] and confirmed["warnings"] == []
    assert confirmed["meeting"]["status"] == "AGREED"


async def test_end_to_end_feed_and_busy_time_through_the_worker(
        m: Market, calendar_server: CalendarServer, client: httpx.AsyncClient,
        frozen: FrozenClock, env: Callable[..., None]) -> None:
    """The expert subscribes to their feed and sees the agreed meeting; a busy event added to
    their own calendar reaches expertFreeSlots through the worker's scheduled fetch."""
    feed_url = (await m.expert.q("mutation { rotateCalendarFeed { feed { url } } }"))[
        "rotateCalendarFeed"]["feed"]["url"]
    requested = await m.request(MONDAY + timedelta(hours=14))
    confirmed = await m.expert.mutate("confirmMeeting", {"meetingId": requested["meeting"]["id"]},
                                      "MeetingRefInput")
    assert confirmed["errors"] == [] and confirmed["warnings"] == []
    feed = Calendar.from_ical((await client.get(urlsplit(feed_url).path)).content)
    [event] = feed.walk("VEVENT")
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART") == MONDAY + timedelta(hours=14)

    calendar_server.files["/own.ics"] = EMPTY
    assert (await add(m.expert, calendar_server.url("/own.ics"), "Own"))["errors"] == []
    assert await slot_hours(m, MONDAY) == [7, 8, 9, 10, 11, 12]
    calendar_server.files["/own.ics"] = one_event(MONDAY + timedelta(hours=9),
                                                  MONDAY + timedelta(hours=11))
    frozen.advance(timedelta(minutes=15))
    stop = asyncio.Event()
    env(worker_interval_seconds=0.05)
    worker = asyncio.create_task(run_embedded(stop))  # as `meetings serve` runs it
    try:
        for _ in range(200):
            if calendar_server.count("/own.ics", 200) == 2 and await BusyInterval.filter(
                    expert_id=from_global_id(m.expert.id, "Account")).exists():
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await worker
    assert await slot_hours(m, MONDAY) == [7, 8, 11, 12]
    [state] = await calendars(m.expert)
    assert (state["busyCount"], state["lastFetchedAt"]) == (1, "2027-02-26T12:15:00Z")


async def test_a_slow_calendar_url_holds_up_nobody(m: Market, calendar_server: CalendarServer,
                                                   env: Callable[..., None]) -> None:
    """The fetch waits on another server: no transaction or connection is held meanwhile, so
    other mutations (here the same expert's) go through while it waits."""
    env(busy_calendar_timeout_seconds=5)
    adding = asyncio.create_task(add(m.expert, calendar_server.url("/slow?seconds=1.5")))
    for _ in range(100):
        if any(path == "/slow" for path, _ in calendar_server.requests):
            break
        await asyncio.sleep(0.01)
    feed = (await m.expert.q("mutation { rotateCalendarFeed { feed { url } errors { code } } }"))
    assert feed["rotateCalendarFeed"]["errors"] == []
    blocked = await m.user.mutate("requestMeeting", {
        "serviceId": m.service_id, "skillId": m.skill_id,
        "startsAt": (MONDAY + timedelta(hours=16)).isoformat()}, "RequestMeetingInput")
    assert blocked["errors"] == []
    assert not adding.done()  # both answered while the calendar URL was still being read
    assert (await adding)["errors"] == []
