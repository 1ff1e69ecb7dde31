from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.freetime import (
    Interval,
    WeeklyRule,
    expand_weekly,
    fits,
    format_hhmm,
    free_intervals,
    merge,
    parse_hhmm,
    slots,
    subtract,
    valid_timezone,
    validate_rules,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
MON, SAT, SUN = 0, 5, 6


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def rule(weekday: int, start: str, end: str) -> WeeklyRule:
    return WeeklyRule(weekday, parse_hhmm(start, allow_24=False), parse_hhmm(end, allow_24=True))


# --- HH:MM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "allow_24", "minutes"),
    [
        ("00:00", False, 0),
        ("09:30", False, 570),
        ("23:59", False, 1439),
        ("24:00", True, 1440),
        ("12:00", True, 720),
    ],
)
def test_parse_hhmm(text: str, allow_24: bool, minutes: int) -> None:
    assert parse_hhmm(text, allow_24=allow_24) == minutes


@pytest.mark.parametrize(
    ("text", "allow_24", "message"),
    [
        ("9:3", True, "expected HH:MM"),
        ("09:3", True, "expected HH:MM"),
        ("ab", True, "expected HH:MM"),
        ("", True, "expected HH:MM"),
        (" 09:30", True, "expected HH:MM"),
        ("09:30:00", True, "expected HH:MM"),
        ("25:00", True, "hour must be 00-23"),
        ("24:30", True, "hour must be 00-23"),
        ("09:60", True, "minute must be 00-59"),
        ("24:00", False, "only allowed as an end time"),
        ("٠٩:٣٠", True, "expected HH:MM"),  # non-ASCII digits
    ],
)
def test_parse_hhmm_rejects(text: str, allow_24: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hhmm(text, allow_24=allow_24)


@pytest.mark.parametrize(
    ("minutes", "text"), [(0, "00:00"), (570, "09:30"), (1439, "23:59"), (1440, "24:00")]
)
def test_format_hhmm(minutes: int, text: str) -> None:
    assert format_hhmm(minutes) == text
    assert parse_hhmm(text, allow_24=True) == minutes


@pytest.mark.parametrize("minutes", [-1, 1441])
def test_format_hhmm_rejects(minutes: int) -> None:
    with pytest.raises(ValueError):
        format_hhmm(minutes)


# --- validation -----------------------------------------------------------------------------------


def test_validate_rules_accepts_touching_and_other_days() -> None:
    validate_rules(
        [rule(MON, "09:00", "12:00"), rule(MON, "12:00", "24:00"), rule(SUN, "00:00", "24:00")]
    )


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([WeeklyRule(MON, 600, 600)], r"rules\[0\]: end must be after start"),
        ([WeeklyRule(MON, 600, 540)], r"rules\[0\]: end must be after start"),
        ([WeeklyRule(7, 0, 60)], r"rules\[0\]: weekday"),
        ([WeeklyRule(MON, 1440, 1440)], r"rules\[0\]: start"),
        ([WeeklyRule(MON, 0, 1441)], r"rules\[0\]: end"),
        (
            [rule(MON, "09:00", "12:00"), rule(MON, "11:00", "13:00")],
            r"rules\[1\] overlaps rules\[0\]",
        ),
        (
            [rule(MON, "09:00", "10:00"), rule(SAT, "09:00", "17:00"), rule(SAT, "08:00", "09:30")],
            r"rules\[2\] overlaps rules\[1\]",
        ),
    ],
)
def test_validate_rules_rejects(rules: list[WeeklyRule], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_rules(rules)


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        (BERLIN, True),
        (NEW_YORK, True),
        ("UTC", True),
        ("Mars/Olympus", False),
        ("", False),
        ("../etc/passwd", False),
        ("europe/berlin", False),
    ],
)
def test_valid_timezone(name: str, valid: bool) -> None:
    assert valid_timezone(name) is valid


# --- weekly expansion across DST ------------------------------------------------------------------

EVERY_DAY_9_TO_5 = [rule(day, "09:00", "17:00") for day in range(7)]


@pytest.mark.parametrize(
    ("tz", "before_day", "before_utc", "after_day", "after_utc"),
    [
        # Berlin springs forward on Sunday 2026-03-29: CET (+1) -> CEST (+2).
        (BERLIN, utc(2026, 3, 28), utc(2026, 3, 28, 8), utc(2026, 3, 29), utc(2026, 3, 29, 7)),
        # Berlin falls back on Sunday 2026-10-25: CEST (+2) -> CET (+1).
        (BERLIN, utc(2026, 10, 24), utc(2026, 10, 24, 7), utc(2026, 10, 25), utc(2026, 10, 25, 8)),
        # New York springs forward on Sunday 2026-03-08: EST (-5) -> EDT (-4).
        (NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 7, 14), utc(2026, 3, 8), utc(2026, 3, 8, 13)),
        # New York falls back on Sunday 2026-11-01: EDT (-4) -> EST (-5).
        (
            NEW_YORK,
            utc(2026, 10, 31),
            utc(2026, 10, 31, 13),
            utc(2026, 11, 1),
            utc(2026, 11, 1, 14),
        ),
    ],
)
def test_nine_to_five_across_dst(
    tz: str, before_day: datetime, before_utc: datetime, after_day: datetime, after_utc: datetime
) -> None:
    got = expand_weekly(EVERY_DAY_9_TO_5, tz, before_day, after_day + timedelta(days=1))
    assert got == [(before_utc, before_utc + hours(8)), (after_utc, after_utc + hours(8))]
    for start, end in got:
        local_start, local_end = start.astimezone(ZoneInfo(tz)), end.astimezone(ZoneInfo(tz))
        assert (local_start.hour, local_end.hour) == (9, 17)
        assert start.tzinfo is UTC and end.tzinfo is UTC


def test_expand_clips_to_window_and_accepts_any_aware_input() -> None:
    window_from = datetime(2026, 3, 30, 10, tzinfo=ZoneInfo(BERLIN))  # Monday, CEST: 08:00Z
    got = expand_weekly(EVERY_DAY_9_TO_5, BERLIN, window_from, utc(2026, 3, 30, 12))
    assert got == [(utc(2026, 3, 30, 8), utc(2026, 3, 30, 12))]


def test_rule_ending_at_midnight() -> None:
    got = expand_weekly([rule(SAT, "22:00", "24:00")], BERLIN, utc(2026, 3, 21), utc(2026, 4, 5))
    assert got == [
        (utc(2026, 3, 21, 21), utc(2026, 3, 21, 23)),
        (utc(2026, 3, 28, 21), utc(2026, 3, 28, 23)),  # midnight before the change is still CET
        (utc(2026, 4, 4, 20), utc(2026, 4, 4, 22)),
    ]


def test_whole_spring_forward_day_is_23_hours() -> None:
    got = expand_weekly([rule(SUN, "00:00", "24:00")], BERLIN, utc(2026, 3, 28), utc(2026, 3, 31))
    assert got == [(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))]


def test_start_in_spring_forward_gap_is_skipped() -> None:
    rules = [rule(SUN, "02:30", "04:00")]
    got = expand_weekly(rules, BERLIN, utc(2026, 3, 21), utc(2026, 4, 6))
    assert got == [
        (utc(2026, 3, 22, 1, 30), utc(2026, 3, 22, 3)),
        (utc(2026, 4, 5, 0, 30), utc(2026, 4, 5, 2)),
    ]
    # 02:30 does not exist on 2026-03-08 in New York either.
    assert expand_weekly(rules, NEW_YORK, utc(2026, 3, 8), utc(2026, 3, 9)) == []


def test_end_in_spring_forward_gap_is_clipped_to_the_jump() -> None:
    # 01:00 CET is 00:00Z; at 01:00Z (02:00 CET) clocks jump to 03:00 CEST.
    got = expand_weekly([rule(SUN, "01:00", "02:30")], BERLIN, utc(2026, 3, 29), utc(2026, 3, 30))
    assert got == [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 1))]
    # New York jumps at 07:00Z (02:00 EST).
    got = expand_weekly([rule(SUN, "01:00", "02:30")], NEW_YORK, utc(2026, 3, 8), utc(2026, 3, 9))
    assert got == [(utc(2026, 3, 8, 6), utc(2026, 3, 8, 7))]


def test_ambiguous_fall_back_time_takes_first_occurrence() -> None:
    # 02:00-03:00 happens twice in Berlin on 2026-10-25; fold=0 is the earlier, CEST reading.
    got = expand_weekly([rule(SUN, "02:30", "02:45")], BERLIN, utc(2026, 10, 25), utc(2026, 10, 26))
    assert got == [(utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 45))]
    # The same rule a week earlier is plain CEST, a week later plain CET.
    got = expand_weekly([rule(SUN, "02:30", "02:45")], BERLIN, utc(2026, 11, 1), utc(2026, 11, 2))
    assert got == [(utc(2026, 11, 1, 1, 30), utc(2026, 11, 1, 1, 45))]


def test_expand_rejects_unknown_zone_and_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="unknown time zone"):
        expand_weekly(EVERY_DAY_9_TO_5, "Mars/Olympus", utc(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError, match="naive"):
        naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
        expand_weekly(EVERY_DAY_9_TO_5, BERLIN, naive, utc(2026, 1, 2))


# --- interval algebra and free time ---------------------------------------------------------------


def test_merge_sorts_joins_touching_and_drops_empty() -> None:
    got = merge(
        [
            (utc(2026, 1, 1, 12), utc(2026, 1, 1, 13)),
            (utc(2026, 1, 1, 9), utc(2026, 1, 1, 10)),
            (utc(2026, 1, 1, 10), utc(2026, 1, 1, 11)),  # touches the previous one
            (utc(2026, 1, 1, 12, 30), utc(2026, 1, 1, 12, 45)),  # inside another
            (utc(2026, 1, 1, 15), utc(2026, 1, 1, 15)),  # empty
        ]
    )
    assert got == [
        (utc(2026, 1, 1, 9), utc(2026, 1, 1, 11)),
        (utc(2026, 1, 1, 12), utc(2026, 1, 1, 13)),
    ]


MONDAY = utc(2026, 3, 30)  # CEST: Berlin 09:00-17:00 is 07:00Z-15:00Z


def test_free_dates_are_added() -> None:
    free_dates = [
        (MONDAY + hours(15), MONDAY + hours(16)),  # touches the rule: merged
        (MONDAY + hours(18), MONDAY + hours(20)),
        (MONDAY - hours(2), MONDAY + hours(1)),  # sticks out of the window: clipped
    ]
    got = free_intervals(
        EVERY_DAY_9_TO_5, BERLIN, free_dates, [], [], MONDAY, MONDAY + timedelta(days=1)
    )
    assert got == [
        (MONDAY, MONDAY + hours(1)),
        (MONDAY + hours(7), MONDAY + hours(16)),
        (MONDAY + hours(18), MONDAY + hours(20)),
    ]


def test_blocked_dates_and_taken_meetings_are_subtracted() -> None:
    blocked = [(MONDAY + hours(6), MONDAY + hours(8))]  # eats the first free hour
    taken = [(MONDAY + hours(10), MONDAY + hours(11)), (MONDAY + hours(11), MONDAY + hours(12))]
    got = free_intervals(
        EVERY_DAY_9_TO_5, BERLIN, [], blocked, taken, MONDAY, MONDAY + timedelta(days=1)
    )
    assert got == [
        (MONDAY + hours(8), MONDAY + hours(10)),
        (MONDAY + hours(12), MONDAY + hours(15)),
    ]


def test_whole_day_blocked_leaves_nothing() -> None:
    day = (MONDAY, MONDAY + timedelta(days=1))
    assert free_intervals(EVERY_DAY_9_TO_5, BERLIN, [day], [day], [], *day) == []


# --- slots and fits -------------------------------------------------------------------------------

FREE: list[Interval] = [
    (MONDAY + hours(9), MONDAY + hours(11)),
    (MONDAY + timedelta(hours=13, minutes=10), MONDAY + timedelta(hours=14)),
]
LONG_AGO = MONDAY - timedelta(days=365)


def starts(found: list[Interval]) -> list[str]:
    return [start.strftime("%H:%M") for start, _ in found]


def test_slots_step_by_length_from_each_interval_start() -> None:
    found = slots(FREE, 30, MONDAY, MONDAY + timedelta(days=1), LONG_AGO)
    assert starts(found) == ["09:00", "09:30", "10:00", "10:30", "13:10"]  # 13:40 would overrun
    assert all(end - start == timedelta(minutes=30) for start, end in found)


def test_slots_only_inside_window_and_aligned_to_free_time() -> None:
    found = slots(
        FREE, 30, MONDAY + timedelta(hours=9, minutes=20), MONDAY + hours(13.75), LONG_AGO
    )
    assert starts(found) == ["09:30", "10:00", "10:30", "13:10"]
    found = slots(FREE, 30, MONDAY + hours(10), MONDAY + timedelta(hours=13, minutes=39), LONG_AGO)
    assert starts(found) == ["10:00", "10:30"]  # 13:10-13:40 ends after the window


def test_slots_only_in_the_future() -> None:
    found = slots(FREE, 30, MONDAY, MONDAY + timedelta(days=1), now=MONDAY + hours(10))
    assert starts(found) == ["10:30", "13:10"]  # a slot starting exactly now is gone
    found = slots(FREE, 30, MONDAY, MONDAY + timedelta(days=1), now=MONDAY + hours(10.1))
    assert starts(found) == ["10:30", "13:10"]


def test_slots_reject_non_positive_length() -> None:
    with pytest.raises(ValueError):
        slots(FREE, 0, MONDAY, MONDAY + hours(1), LONG_AGO)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (hours(9), hours(11), True),  # exactly the interval
        (hours(9), hours(9.5), True),
        (hours(10.5), hours(11), True),
        (hours(8.99), hours(9.5), False),  # starts before
        (hours(10.5), hours(11.01), False),  # ends after
        (hours(10.5), hours(13.5), False),  # spans a gap
        (hours(11), hours(12), False),
        (hours(10), hours(10), False),  # empty
    ],
)
def test_fits_boundaries(start: timedelta, end: timedelta, expected: bool) -> None:
    assert fits(FREE, MONDAY + start, MONDAY + end) is expected


def test_fits_across_touching_intervals() -> None:
    free = [(MONDAY, MONDAY + hours(1)), (MONDAY + hours(1), MONDAY + hours(2))]
    assert fits(free, MONDAY + hours(0.5), MONDAY + hours(1.5))


# --- properties -----------------------------------------------------------------------------------

BASE = utc(2026, 1, 1)
minute_intervals = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 300)).map(
        lambda pair: (BASE + timedelta(minutes=pair[0]), BASE + timedelta(minutes=pair[1]))
    ),
    max_size=8,
)


def covered(intervals: list[Interval], at: datetime) -> bool:
    return any(start <= at < end for start, end in intervals)


@given(minute_intervals, minute_intervals)
def test_subtract_properties(a: list[Interval], b: list[Interval]) -> None:
    result = subtract(a, b)
    merged = merge(a)
    assert result == merge(result)  # sorted, disjoint, non-empty
    for start, end in result:
        # An empty cut (b_start == b_end) removes nothing and overlaps nothing.
        assert not any(start < b_end and b_start < end for b_start, b_end in merge(b))
        assert any(m_start <= start and end <= m_end for m_start, m_end in merged)
    # Endpoints are whole minutes, so half-minute probes see every piece exactly.
    for minute in range(301):
        at = BASE + timedelta(minutes=minute, seconds=30)
        assert covered(result, at) == (covered(a, at) and not covered(b, at))


@given(
    minute_intervals,
    st.integers(1, 90),
    st.integers(0, 300),
    st.integers(0, 300),
    st.integers(-10, 300),
)
def test_every_slot_fits(
    free: list[Interval], length: int, window_from: int, window_to: int, now: int
) -> None:
    def at(minute: int) -> datetime:
        return BASE + timedelta(minutes=minute)

    found = slots(free, length, at(window_from), at(window_to), at(now))
    for start, end in found:
        assert end - start == timedelta(minutes=length)
        assert fits(free, start, end)
        assert at(window_from) <= start and end <= at(window_to)
        assert start > at(now)
        # Aligned: a whole number of steps from the start of its merged free interval.
        origin = next(s for s, e in merge(free) if s <= start < e)
        assert (start - origin) % timedelta(minutes=length) == timedelta(0)
