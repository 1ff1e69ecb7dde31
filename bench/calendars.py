"""Busy-calendar expansion (models/busytime.py): the cost of reading an expert's calendar.

Prints one Markdown table, medians of --repeat runs, side by side in one run:
- parsing alone (icalendar), the library's own whole-calendar expansion
  (`recurring_ical_events.of(cal).between`: no per-series isolation, no cap), and
  `busytime.expand` (each series isolated so a broken one is named, capped at 5,000);
- a file with one FREQ=MINUTELY series, which the cap stops early (the library's own call
  materialises every occurrence of the horizon).

    .venv/bin/python bench/calendars.py [--events 8000] [--repeat 3]

CPU only: no database or server. The synthetic file mixes one-off events over four years of
history with weekly series (every 50th event), about 400 bytes per event, like an export
of a busy work calendar.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import icalendar  # noqa: E402
import recurring_ical_events  # noqa: E402

from models import busytime  # noqa: E402

NOW = datetime(2026, 12, 1, tzinfo=UTC)
END = NOW + timedelta(days=90)


def synthetic(events: int) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//bench//calendars//EN"]
    first = NOW - timedelta(days=4 * 365)
    step = (END - first) / events
    for i in range(events):
        start = first + step * i
        lines += ["BEGIN:VEVENT", f"UID:event-{i}@bench", "DTSTAMP:20220101T000000Z",
                  f"SUMMARY:Event {i}: a meeting with a summary of usual length",
                  f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                  f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
                  "DESCRIPTION:" + "Agenda and notes of the meeting. " * 7]
        if i % 50 == 0:
            lines.append("RRULE:FREQ=WEEKLY;BYDAY=MO,WE")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


MINUTELY = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:m@bench\r\n"
            b"DTSTAMP:20260101T000000Z\r\nDTSTART:20261201T000000Z\r\n"
            b"DTEND:20261201T000030Z\r\nRRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def alternating(data: bytes, repeat: int,
                **sides: Callable[[icalendar.Calendar], object]) -> dict[str, tuple[float, object]]:
    """Each side on a freshly parsed calendar (the library caches on components), the sides
    taking turns; median seconds and the last result of each, plus the parse itself."""
    runs: dict[str, list[float]] = {name: [] for name in ("parse", *sides)}
    results: dict[str, object] = {}
    for _ in range(repeat):
        for name, work in sides.items():
            start = time.perf_counter()
            calendar = icalendar.Calendar.from_ical(data)
            parsed = time.perf_counter()
            results[name] = work(calendar)
            runs["parse"].append(parsed - start)
            runs[name].append(time.perf_counter() - parsed)
    return {name: (statistics.median(r), results.get(name)) for name, r in runs.items()}


def library(calendar: icalendar.Calendar) -> list[icalendar.Component]:
    return list(recurring_ical_events.of(calendar).between(NOW, END))


def ours(calendar: icalendar.Calendar) -> busytime.Expansion:
    return busytime.expand(calendar, "UTC", NOW, END)


def count(result: object) -> int:
    if isinstance(result, busytime.Expansion):
        return len(result.intervals)
    assert isinstance(result, list)
    return len(result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = synthetic(args.events)
    big = alternating(data, args.repeat, library=library, ours=ours)
    fast = alternating(MINUTELY, 1, library=library, ours=ours)

    print(f"{args.events} events, {len(data) / 1e6:.1f} MB, horizon 90 days; "
          f"medians of {args.repeat}, expansion after a fresh parse\n")
    print("| what | seconds | busy times | ratio to the library |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| parse (icalendar) | {big['parse'][0]:.2f} | | |")
    for label, figures in (("synthetic calendar", big), ("one FREQ=MINUTELY series", fast)):
        lib_s, lib_result = figures["library"]
        our_s, our_result = figures["ours"]
        print(f"| {label}: library's whole-calendar `between` | {lib_s:.2f} | "
              f"{count(lib_result)} | 1.00 |")
        print(f"| {label}: `busytime.expand` (isolated series, capped) | {our_s:.2f} | "
              f"{count(our_result)} | {our_s / lib_s:.2f} |")


if __name__ == "__main__":
    main()
