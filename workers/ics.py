"""The calendar invite an e-mail carries (RFC 5545 / iTIP): METHOD:REQUEST for an agreed
meeting, METHOD:CANCEL with the same UID when it is called off; SEQUENCE grows with every
date change and with the cancellation, so calendars replace rather than duplicate."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from icalendar import Calendar, Event, vCalAddress, vText

Method = Literal["REQUEST", "CANCEL"]


@dataclass(frozen=True)
class Invite:
    method: Method
    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    summary: str
    organizer: str  # an e-mail address
    attendees: tuple[str, ...]
    join_url: str | None = None


def build(invite: Invite, stamp: datetime) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//meetings//meetings//EN")
    cal.add("version", "2.0")
    cal.add("method", invite.method)
    event = Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", invite.starts_at)
    event.add("dtend", invite.ends_at)
    event.add("summary", invite.summary)
    event.add("status", "CANCELLED" if invite.method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{invite.organizer}")
    organizer.params["cn"] = vText("Meetings")
    event["organizer"] = organizer
    for address in invite.attendees:
        attendee = vCalAddress(f"mailto:{address}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    if invite.join_url:
        event.add("location", invite.join_url)
        event.add("url", invite.join_url)
    cal.add_component(event)
    return cal.to_ical()
