"""The iCalendar (RFC 5545) form of meetings, built in one place for both channels:

- the invite an e-mail carries (iTIP): METHOD:REQUEST for an agreed meeting, METHOD:CANCEL
  with the same UID when it is called off;
- the account's subscribed feed (METHOD:PUBLISH): every meeting as CONFIRMED, TENTATIVE or
  CANCELLED.

Both take the UID and SEQUENCE of the meeting's `CalendarInvite` (models/invites.py): SEQUENCE
grows with every date change and with the cancellation, so calendars replace an event rather
than duplicate it, whichever channel they learnt it from. Times are written in UTC."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vDuration, vText

Method = Literal["REQUEST", "CANCEL"]
Status = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]
PRODID = "-//meetings//meetings//EN"


@dataclass(frozen=True)
class Entry:
    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    summary: str
    status: Status
    stamp: datetime  # DTSTAMP: when this version was written
    description: str | None = None
    join_url: str | None = None
    organizer: str | None = None  # an e-mail address
    attendees: tuple[str, ...] = ()


def _event(entry: Entry) -> Event:
    event = Event()
    event.add("uid", entry.uid)
    event.add("sequence", entry.sequence)
    event.add("dtstamp", entry.stamp.astimezone(UTC))
    event.add("dtstart", entry.starts_at.astimezone(UTC))
    event.add("dtend", entry.ends_at.astimezone(UTC))
    event.add("summary", entry.summary)
    event.add("status", entry.status)
    if entry.description:
        event.add("description", entry.description)
    if entry.organizer:
        organizer = vCalAddress(f"mailto:{entry.organizer}")
        organizer.params["cn"] = vText("Meetings")
        event["organizer"] = organizer
    for address in entry.attendees:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    if entry.join_url:
        event.add("location", entry.join_url)
        event.add("url", entry.join_url)
    return event


def _calendar(method: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    return cal


def invite(method: Method, entry: Entry) -> bytes:
    """One meeting as an e-mail attachment."""
    cal = _calendar(method)
    cal.add_component(_event(entry))
    return cal.to_ical()


def feed(entries: Iterable[Entry], name: str, refresh: timedelta) -> bytes:
    """The meetings of one account as a subscribed calendar."""
    cal = _calendar("PUBLISH")
    cal.add("x-wr-calname", name)
    # How often subscribers should poll (RFC 7986, and Apple's/Outlook's older spelling).
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(refresh))
    for entry in entries:
        cal.add_component(_event(entry))
    return cal.to_ical()
