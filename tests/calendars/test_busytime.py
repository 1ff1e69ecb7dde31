"""Expanding an expert's own calendar into busy intervals (models/busytime.py), one test per
recurrence case of the fixtures in fixtures/expert.ics (times written in Europe/Berlin)."""

from datetime import UTC, datetime, timedelta

import pytest

from models import busytime
from tests.support.calendars import FIXTURES

START = datetime(2027, 2, 25, tzinfo=UTC)
END = datetime(2027, 5, 1, tzinfo=UTC)


def z(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def expert(timezone: str = "Europe/Berlin") -> set[tuple[datetime, datetime]]:
    out = busytime.expand((FIXTURES / "expert.ics").read_bytes(), timezone, START, END)
    assert out.problems() is None
    return set(out.intervals)


def test_weekly_rule_in_its_vtimezone_with_the_dst_change() -> None:
    busy = expert()
    # Mondays 10:00-11:00 Berlin: 09:00Z in winter, 08:00Z after 2027-03-28.
    assert (z(2027, 3, 1, 9), z(2027, 3, 1, 10)) in busy
    assert (z(2027, 3, 8, 9), z(2027, 3, 8, 10)) in busy
    assert (z(2027, 3, 29, 8), z(2027, 3, 29, 9)) in busy


def test_a_zone_known_only_from_its_vtimezone() -> None:
    # An Outlook-style TZID that no tz database has: its VTIMEZONE rules decide, DST included.
    busy = expert()
    assert (z(2027, 3, 24, 8), z(2027, 3, 24, 8, 30)) in busy
    assert (z(2027, 3, 31, 7), z(2027, 3, 31, 7, 30)) in busy


def test_a_google_calendar_zone_x_wr_timezone() -> None:
    # Google writes its series in UTC and names the zone once, in X-WR-TIMEZONE: the series
    # keeps 10:00 Berlin after the DST change, and floating times are Berlin's, whatever the
    # expert's own zone. UNTIL ends the series; DURATION stands for DTEND.
    out = busytime.expand((FIXTURES / "google.ics").read_bytes(), "UTC", START, END)
    assert out.intervals == [
        (z(2027, 3, 22, 9), z(2027, 3, 22, 10)),
        (z(2027, 3, 24, 8), z(2027, 3, 24, 8, 45)),
        (z(2027, 3, 29, 8), z(2027, 3, 29, 9)),
        (z(2027, 4, 5, 8), z(2027, 4, 5, 9)),
    ]


def test_an_unknown_x_wr_timezone_is_ignored() -> None:
    data = (FIXTURES / "google.ics").read_bytes().replace(b"Europe/Berlin", b"Mars/Olympus")
    out = busytime.expand(data, "UTC", START, END)
    assert (z(2027, 3, 29, 9), z(2027, 3, 29, 10)) in out.intervals  # the UTC times as written
    assert (z(2027, 3, 24, 9), z(2027, 3, 24, 9, 45)) in out.intervals  # floating: the expert's


def test_exdate_removes_an_occurrence() -> None:
    assert not any(s.date() == z(2027, 3, 15).date() for s, _ in expert())


def test_rdate_adds_an_occurrence() -> None:
    assert (z(2027, 3, 18, 9), z(2027, 3, 18, 10)) in expert()


def test_recurrence_id_override_moves_an_occurrence() -> None:
    busy = expert()
    assert (z(2027, 3, 22, 13), z(2027, 3, 22, 14)) in busy  # 14:00 Berlin instead of 10:00
    assert (z(2027, 3, 22, 9), z(2027, 3, 22, 10)) not in busy


def test_an_override_with_status_cancelled_frees_one_occurrence() -> None:
    assert not any(s.date() == z(2027, 4, 5).date() for s, _ in expert())


def test_count_ends_the_series() -> None:
    weekly = [s for s, e in expert() if e - s == timedelta(hours=1) and s.weekday() == 0
              and s.hour in (8, 9, 13)]
    # COUNT=6 from 1 March: 1, 8, (15 excluded), 22 (moved), 29, (5 April cancelled).
    assert sorted(d.day for d in weekly) == [1, 8, 22, 29]


def test_all_day_event_is_busy_from_local_midnight_to_local_midnight() -> None:
    assert (z(2027, 3, 9, 23), z(2027, 3, 11, 23)) in expert("Europe/Berlin")
    assert (z(2027, 3, 10), z(2027, 3, 12)) in expert("UTC")


def test_event_across_the_spring_forward_gap_lasts_its_real_duration() -> None:
    # 01:30 CET to 03:30 CEST on 2027-03-28: one hour, not two.
    assert (z(2027, 3, 28, 0, 30), z(2027, 3, 28, 1, 30)) in expert()


def test_floating_time_is_the_experts_wall_clock() -> None:
    assert (z(2027, 3, 5, 8), z(2027, 3, 5, 9)) in expert("Europe/Berlin")
    assert (z(2027, 3, 5, 14), z(2027, 3, 5, 15)) in expert("America/New_York")


def test_transparent_and_cancelled_events_are_not_busy() -> None:
    busy = expert()
    assert not any(s.date() in (z(2027, 3, 2).date(), z(2027, 3, 3).date()) for s, _ in busy)
    assert len(busy) == 10  # nothing else sneaks in


def test_the_window_clips_what_is_kept() -> None:
    out = busytime.expand((FIXTURES / "expert.ics").read_bytes(), "Europe/Berlin",
                          z(2027, 3, 20), z(2027, 3, 28, 1))
    assert out.intervals == [(z(2027, 3, 22, 13), z(2027, 3, 22, 14)),
                             (z(2027, 3, 24, 8), z(2027, 3, 24, 8, 30)),
                             (z(2027, 3, 28, 0, 30), z(2027, 3, 28, 1, 30))]


def test_a_broken_event_is_named_and_the_good_ones_still_count() -> None:
    out = busytime.expand((FIXTURES / "broken.ics").read_bytes(), "UTC", START, END)
    assert out.intervals == [(z(2027, 3, 1, 10), z(2027, 3, 1, 11)),
                             (z(2027, 3, 3, 10), z(2027, 3, 3, 11))]
    problems = out.problems()
    assert problems is not None
    assert "Broken one" in problems and "broken-one@fixtures" in problems
    assert "DTSTART" in problems


def test_many_broken_events_are_counted_past_the_first_ten() -> None:
    good = (FIXTURES / "broken.ics").read_bytes().split(b"END:VCALENDAR")[0]
    bad = b"".join(b"BEGIN:VEVENT\r\nUID:bad-%d\r\nDTSTART:never\r\nEND:VEVENT\r\n" % i
                   for i in range(25))
    out = busytime.expand(good + bad + b"END:VCALENDAR\r\n", "UTC", START, END)
    problems = out.problems() or ""
    # broken.ics has one of its own: it and bad-0 … bad-8 are named, 16 are counted.
    assert len(out.intervals) == 2 and "bad-8)" in problems and "bad-9)" not in problems
    assert problems.endswith("and 16 more broken events")


def test_an_unbounded_fast_rule_is_cut_and_says_so() -> None:
    data = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:m\r\n"
            b"DTSTAMP:20270101T000000Z\r\nDTSTART:20270301T000000Z\r\n"
            b"DTEND:20270301T000100Z\r\nRRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    out = busytime.expand(data, "UTC", START, END)
    assert len(out.intervals) == busytime.MAX_OCCURRENCES
    assert out.truncated and "left out" in (out.problems() or "")


@pytest.mark.parametrize("data, words", [
    (b"<!DOCTYPE html><html></html>", "HTML"),
    (b"\x00\x01garbage", "BEGIN:VCALENDAR"),
    (b"BEGIN:VCALENDAR\r\nthis is : not ; a content line\r\n\x00", "readable"),
    (b"", "BEGIN:VCALENDAR"),
])
def test_what_is_no_calendar_is_refused_in_words(data: bytes, words: str) -> None:
    with pytest.raises(busytime.NotICalendar, match=words):
        busytime.expand(data, "UTC", START, END)
