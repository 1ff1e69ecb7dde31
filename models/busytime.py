"""Busy times of an expert's own calendar: an iCalendar file (RFC 5545) expanded into UTC
intervals over a horizon, as pure functions.

Recurrence is `recurring-ical-events` on `icalendar` (RRULE, RDATE, EXDATE, RECURRENCE-ID
overrides, VTIMEZONE and DST). What this module decides on top:
- a calendar-wide X-WR-TIMEZONE (Google's exports) is applied first with `x-wr-timezone`:
  the UTC times of its series recur on that zone's wall clock, floating times are in it;
- otherwise floating times (no zone) and all-day dates are wall times in the expert's zone;
  an all-day event is busy from local midnight to the local midnight after its last day;
- an occurrence with ``TRANSP:TRANSPARENT`` or ``STATUS:CANCELLED`` is not busy (an override
  can cancel or free one occurrence of a series);
- each event series (one UID with its overrides) is expanded on its own, so a broken one is
  named in ``broken`` while the others still count.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Component

from models.freetime import Interval

# A calendar with more occurrences than this in the horizon is cut there (and says so):
# a FREQ=MINUTELY series must not cost the worker its memory.
MAX_OCCURRENCES = 5000
MAX_NAMED = 10  # broken events named in the problems; the rest are counted


class NotICalendar(ValueError):
    """The data is not an iCalendar file at all (HTML, garbage, no VCALENDAR)."""


@dataclass
class Expansion:
    intervals: list[Interval] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # one line per broken event series
    truncated: bool = False

    def problems(self) -> str | None:
        """What went wrong, for the calendar's lastError; None when nothing did."""
        lines = self.broken[:MAX_NAMED]
        if len(self.broken) > MAX_NAMED:
            lines.append(f"and {len(self.broken) - MAX_NAMED} more broken events")
        if self.truncated:
            lines.append(f"more than {MAX_OCCURRENCES} busy times in the horizon: "
                         "the later ones are left out")
        return "; ".join(lines) if lines else None


def parse(data: bytes) -> Calendar:
    head = data.lstrip()[:256].lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"{", b"[")):
        raise NotICalendar("not an iCalendar file: the URL answered HTML, XML or JSON")
    if not head.startswith(b"begin:vcalendar"):
        raise NotICalendar("not an iCalendar file: it does not start with BEGIN:VCALENDAR")
    try:
        calendar = Calendar.from_ical(data)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError) as exc:
        raise NotICalendar(f"not a readable iCalendar file: {str(exc)[:200]}") from None
    if not isinstance(calendar, Calendar):
        raise NotICalendar("not an iCalendar file: the first component is not a VCALENDAR")
    return calendar


def _name(event: Component, index: int) -> str:
    summary = str(event.get("SUMMARY", "")).strip()
    uid = str(event.get("UID", "")).strip()
    label = f"event {index + 1}"
    if summary:
        label += f" {summary[:80]!r}"
    if uid:
        label += f" (UID {uid[:120]})"
    return label


def _fault(event: Component) -> str | None:
    """What icalendar could not read in the event (it keeps such values as vBroken)."""
    if event.errors:
        prop, message = event.errors[0]
        return f"{prop}: {message}"
    if "DTSTART" not in event:
        return "no DTSTART"
    return None


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=zone)  # floating: the expert's wall clock
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), zone).astimezone(UTC)


def _busy(occurrence: Component) -> bool:
    if str(occurrence.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return False
    return str(occurrence.get("STATUS", "")).upper() != "CANCELLED"


def _why_unusable(timezones: list[Component], events: list[Component]) -> str:
    """The library's complaint about one series it could not take in."""
    sub = Calendar()
    for component in (*timezones, *events):
        sub.add_component(component)
    try:
        recurring_ical_events.of(sub)
    except Exception as exc:
        return str(exc)[:200] or type(exc).__name__
    return "not readable"


def expand(data: bytes | Calendar, timezone: str, start: datetime,
           end: datetime) -> Expansion:
    """Busy ``[start, end)`` intervals (UTC, sorted, not merged) overlapping the window."""
    calendar = data if isinstance(data, Calendar) else parse(data)
    if "X-WR-TIMEZONE" in calendar:
        # An unknown zone name: the file is read as RFC 5545 has it.
        with contextlib.suppress(LookupError, ValueError):
            calendar = x_wr_timezone.to_standard(calendar)
    zone = ZoneInfo(timezone)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    out = Expansion()
    timezones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
    series: dict[str, list[Component]] = {}  # UID -> the event and its overrides
    names: dict[str, str] = {}
    faults: dict[str, str] = {}
    for index, event in enumerate(c for c in calendar.subcomponents if c.name == "VEVENT"):
        uid = str(event.get("UID", "")) or f"#{index}"
        series.setdefault(uid, []).append(event)
        if uid not in names or "RECURRENCE-ID" not in event:
            names[uid] = _name(event, index)
        fault = _fault(event)
        if fault and uid not in faults:
            faults[uid] = fault
    readable = Calendar()
    for component in timezones:
        readable.add_component(component)
    for uid, events in series.items():
        if uid not in faults:
            for event in events:
                if "UID" not in event:
                    event.add("uid", uid)
                readable.add_component(event)
    # One query over every readable series (building one per series costs 10x); a series the
    # library refuses to take in is left out by it and named here.
    query = recurring_ical_events.of(readable, skip_bad_series=True)
    taken = {str(s.uid) for s in query.series}
    for uid, events in series.items():
        if uid not in faults and uid not in taken:
            faults[uid] = _why_unusable(timezones, events)
    for each in query.series:
        found: list[Interval] = []
        try:
            for occurrence in each.between(start, end):
                component = occurrence.as_component(False)
                lo = _instant(occurrence.start, zone)
                hi = _instant(occurrence.end, zone)
                if _busy(component) and lo < hi and hi > start and lo < end:
                    if len(found) + len(out.intervals) >= MAX_OCCURRENCES:
                        out.truncated = True
                        break
                    found.append((lo, hi))
        except Exception as exc:  # one series' error must not hide the others
            faults[str(each.uid)] = str(exc)[:200] or type(exc).__name__
            continue
        out.intervals.extend(found)
        if out.truncated:
            break
    out.broken = [f"{names.get(uid, uid)}: {fault}" for uid, fault in faults.items()]
    out.intervals.sort()
    return out


def horizon(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The window whose busy times are kept: from now (running ones included) on."""
    return now, now + timedelta(days=days)
