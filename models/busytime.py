"""Busy times of an expert's own calendar: an iCalendar file (RFC 5545) expanded into UTC
intervals over a horizon, as pure functions.

Recurrence is `recurring-ical-events` on `icalendar` (RRULE, RDATE, EXDATE, RECURRENCE-ID
overrides, VTIMEZONE and DST). What this module decides on top:
- floating times (no zone) and all-day dates are wall times in the expert's zone; an all-day
  event is busy from local midnight to the local midnight after its last day;
- an occurrence with ``TRANSP:TRANSPARENT`` or ``STATUS:CANCELLED`` is not busy (an override
  can cancel or free one occurrence of a series);
- each event series (one UID with its overrides) is expanded on its own, so a broken one is
  named in ``broken`` while the others still count.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar, Component

from models.freetime import Interval

# A calendar with more occurrences than this in the horizon is cut there (and says so):
# a FREQ=MINUTELY series must not cost the worker its memory.
MAX_OCCURRENCES = 5000


class NotICalendar(ValueError):
    """The data is not an iCalendar file at all (HTML, garbage, no VCALENDAR)."""


@dataclass
class Expansion:
    intervals: list[Interval] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # one line per broken event series
    truncated: bool = False

    def problems(self) -> str | None:
        """What went wrong, for the calendar's lastError; None when nothing did."""
        lines = list(self.broken)
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


def _series(calendar: Calendar) -> Iterator[tuple[str, Calendar]]:
    """One calendar per event series: the VTIMEZONEs and the events of one UID."""
    timezones = [c for c in calendar.subcomponents if c.name == "VTIMEZONE"]
    groups: dict[str, list[Component]] = {}
    names: dict[str, str] = {}
    for index, event in enumerate(c for c in calendar.subcomponents if c.name == "VEVENT"):
        uid = str(event.get("UID", "")) or f"#{index}"
        groups.setdefault(uid, []).append(event)
        if uid not in names or "RECURRENCE-ID" not in event:
            names[uid] = _name(event, index)
    for uid, events in groups.items():
        sub = Calendar()
        for component in (*timezones, *events):
            sub.add_component(component)
        yield names[uid], sub


def _check(series: Calendar) -> None:
    for event in series.walk("VEVENT"):
        if event.errors:
            prop, message = event.errors[0]
            raise ValueError(f"{prop}: {message}")
        if "DTSTART" not in event:
            raise ValueError("no DTSTART")


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


def expand(data: bytes | Calendar, timezone: str, start: datetime,
           end: datetime) -> Expansion:
    """Busy ``[start, end)`` intervals (UTC, sorted, not merged) overlapping the window."""
    calendar = data if isinstance(data, Calendar) else parse(data)
    zone = ZoneInfo(timezone)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    out = Expansion()
    for name, series in _series(calendar):
        found: list[Interval] = []
        try:
            _check(series)
            for occurrence in recurring_ical_events.of(series).after(start):
                lo = _instant(occurrence["DTSTART"].dt, zone)
                if lo >= end:
                    break
                hi = _instant(occurrence["DTEND"].dt, zone) if "DTEND" in occurrence else lo
                if _busy(occurrence) and lo < hi and hi > start:
                    if len(found) + len(out.intervals) >= MAX_OCCURRENCES:
                        out.truncated = True
                        break
                    found.append((lo, hi))
        except Exception as exc:  # any library error in one series must not hide the others
            out.broken.append(f"{name}: {str(exc)[:200] or type(exc).__name__}")
            continue
        out.intervals.extend(found)
        if out.truncated:
            break
    out.intervals.sort()
    return out


def horizon(now: datetime, days: int) -> tuple[datetime, datetime]:
    """The window whose busy times are kept: from now (running ones included) on."""
    return now, now + timedelta(days=days)
