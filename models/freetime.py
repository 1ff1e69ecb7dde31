"""An expert's free time and bookable slots, as pure functions over UTC intervals.

Free time = (weekly rules expanded in the expert's zone ∪ free dates) − blocked dates − taken
meetings. Intervals are half-open ``[start, end)``, so back-to-back meetings never collide.

Everything is converted to UTC before comparing or adding: Python compares and adds aware
datetimes that share a tzinfo by wall clock (ignoring ``fold``), which is wrong across DST.

DST rules for weekly rules (wall-clock times in the rule's zone):
- an occurrence whose start does not exist (spring-forward gap) is skipped for that day;
- an occurrence whose end does not exist is clipped to the instant the gap begins;
- an ambiguous time (fall-back overlap) means its first occurrence (``fold=0``), for both ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

Interval = tuple[datetime, datetime]

MINUTES_PER_DAY = 1440
_HHMM = re.compile(r"([0-9]{2}):([0-9]{2})")


@dataclass(frozen=True)
class WeeklyRule:
    weekday: int  # 0 = Monday … 6 = Sunday
    start_minute: int  # minutes after local midnight, 0..1439
    end_minute: int  # 1..1440 (1440 = 24:00), > start_minute


# --- "HH:MM" ------------------------------------------------------------------------------------


def parse_hhmm(value: str, *, allow_24: bool) -> int:
    """Parse ``"HH:MM"`` into minutes after midnight; ``"24:00"`` only when ``allow_24``."""
    match = _HHMM.fullmatch(value)
    if match is None:
        raise ValueError(f"invalid time {value!r}: expected HH:MM, e.g. 09:30")
    hours, minutes = int(match[1]), int(match[2])
    if hours == 24 and minutes == 0:
        if not allow_24:
            raise ValueError(f"invalid time {value!r}: 24:00 is only allowed as an end time")
        return MINUTES_PER_DAY
    if hours > 23:
        raise ValueError(f"invalid time {value!r}: hour must be 00-23")
    if minutes > 59:
        raise ValueError(f"invalid time {value!r}: minute must be 00-59")
    return hours * 60 + minutes


def format_hhmm(minutes: int) -> str:
    """Format minutes after midnight as ``"HH:MM"`` (1440 -> ``"24:00"``)."""
    if not 0 <= minutes <= MINUTES_PER_DAY:
        raise ValueError(f"minutes must be 0-{MINUTES_PER_DAY}, got {minutes}")
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# --- validation ---------------------------------------------------------------------------------


def validate_rules(rules: Sequence[WeeklyRule]) -> None:
    """Raise ValueError naming the offending rule if any rule is malformed or overlaps another."""
    for i, rule in enumerate(rules):
        if not 0 <= rule.weekday <= 6:
            raise ValueError(f"rules[{i}]: weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= rule.start_minute < MINUTES_PER_DAY:
            raise ValueError(f"rules[{i}]: start must be 00:00-23:59")
        if not 0 < rule.end_minute <= MINUTES_PER_DAY:
            raise ValueError(f"rules[{i}]: end must be 00:01-24:00")
        if rule.end_minute <= rule.start_minute:
            raise ValueError(f"rules[{i}]: end must be after start")
    for j, later in enumerate(rules):
        for i, earlier in enumerate(rules[:j]):
            # Touching rules (09:00-12:00, 12:00-15:00) are fine: intervals are half-open.
            if (
                later.weekday == earlier.weekday
                and later.start_minute < earlier.end_minute
                and earlier.start_minute < later.end_minute
            ):
                raise ValueError(f"rules[{j}] overlaps rules[{i}]")


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    # available_timezones() scans the tz database on every call, so do it once.
    return frozenset(available_timezones())


def valid_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA zone key, e.g. ``"Europe/Berlin"``."""
    # A membership test rather than ZoneInfo(name): that also accepts file-system oddities such
    # as "posixrules" or wrong-case keys on case-insensitive disks.
    return name in _known_zones()


# --- weekly rules -------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        # astimezone() would silently read a naive value as the server's local time.
        raise ValueError(f"naive datetime {value.isoformat()}: timezone-aware required")
    return value.astimezone(UTC)


def _wall(day: date, minute: int, zone: ZoneInfo) -> datetime:
    extra_days, minute = divmod(minute, MINUTES_PER_DAY)  # 1440 is next day's midnight
    return datetime.combine(day + timedelta(days=extra_days), time(*divmod(minute, 60)), zone)


def _exists(local: datetime) -> bool:
    naive = local.replace(tzinfo=None)
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == naive


def _gap_start(local: datetime) -> datetime:
    """The UTC instant where the clock jumps over the non-existent wall time ``local``."""
    # fold=1 resolves with the post-jump offset and lands before the jump, fold=0 with the
    # pre-jump offset and lands after it; zoneinfo exposes no transitions, so bisect between.
    before = local.replace(fold=1).astimezone(UTC)
    after_s = int((local.replace(fold=0).astimezone(UTC) - before).total_seconds())
    before_s, naive = 0, local.replace(tzinfo=None)
    while after_s - before_s > 1:
        mid = (before_s + after_s) // 2
        wall = (before + timedelta(seconds=mid)).astimezone(local.tzinfo).replace(tzinfo=None)
        if wall < naive:
            before_s = mid
        else:
            after_s = mid
    return before + timedelta(seconds=after_s)


def expand_weekly(
    rules: Sequence[WeeklyRule], tz: str, start: datetime, end: datetime
) -> list[Interval]:
    """Occurrences of ``rules`` in zone ``tz`` overlapping ``[start, end)``, clipped to it."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc
    start, end = _utc(start), _utc(end)
    out: list[Interval] = []
    # An occurrence lies within its local day (ending at 24:00 at the latest), so local days
    # outside [day of start, day of end] cannot overlap the window.
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    while day <= last:
        for rule in rules:
            if rule.weekday != day.weekday():
                continue
            local_start = _wall(day, rule.start_minute, zone)
            if not _exists(local_start):
                continue
            local_end = _wall(day, rule.end_minute, zone)
            occ_end = local_end.astimezone(UTC) if _exists(local_end) else _gap_start(local_end)
            lo, hi = max(local_start.astimezone(UTC), start), min(occ_end, end)
            if lo < hi:
                out.append((lo, hi))
        day += timedelta(days=1)
    return sorted(out)


# --- interval algebra ---------------------------------------------------------------------------


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted UTC intervals with overlapping or touching ones joined and empty ones dropped."""
    out: list[Interval] = []
    for start, end in sorted((_utc(s), _utc(e)) for s, e in intervals):
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(intervals: Iterable[Interval], removed: Iterable[Interval]) -> list[Interval]:
    """The parts of ``intervals`` not covered by ``removed`` (sorted, disjoint, UTC)."""
    cuts = merge(removed)
    out: list[Interval] = []
    k = 0  # both lists are sorted, so cuts ending before the current interval never matter again
    for start, end in merge(intervals):
        while k < len(cuts) and cuts[k][1] <= start:
            k += 1
        cursor, j = start, k
        while j < len(cuts) and cuts[j][0] < end:
            if cuts[j][0] > cursor:
                out.append((cursor, cuts[j][0]))
            cursor = max(cursor, cuts[j][1])
            j += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def free_intervals(
    rules: Sequence[WeeklyRule],
    tz: str,
    free_dates: Iterable[Interval],
    blocked_dates: Iterable[Interval],
    taken: Iterable[Interval],
    start: datetime,
    end: datetime,
) -> list[Interval]:
    """The expert's free time within ``[start, end)``; ``taken`` = their agreed meetings."""
    start, end = _utc(start), _utc(end)
    extra = [(max(_utc(s), start), min(_utc(e), end)) for s, e in free_dates]
    available = merge([*expand_weekly(rules, tz, start, end), *extra])
    return subtract(available, [*blocked_dates, *taken])


def fits(free: Sequence[Interval], start: datetime, end: datetime) -> bool:
    """Whether non-empty ``[start, end)`` lies inside one (merged) free interval."""
    start, end = _utc(start), _utc(end)
    return start < end and any(s <= start and end <= e for s, e in merge(free))


def slots(
    free: Sequence[Interval],
    length_minutes: int,
    window_from: datetime,
    window_to: datetime,
    now: datetime,
) -> list[Interval]:
    """Bookable ``[start, end)`` slots of ``length_minutes``.

    Slots step by the length from the start of each merged free interval (not from the window
    start), so offered times stay aligned to the expert's free time. A slot is listed only if it
    lies entirely in ``[window_from, window_to]`` and the free interval, and starts after ``now``.
    """
    if length_minutes <= 0:
        raise ValueError(f"length_minutes must be positive, got {length_minutes}")
    step = timedelta(minutes=length_minutes)
    window_from, window_to, now = _utc(window_from), _utc(window_to), _utc(now)
    earliest = max(window_from, now)
    out: list[Interval] = []
    for start, end in merge(free):
        cursor = start
        if cursor < earliest:
            # Jump to the first aligned step at or after `earliest` instead of walking there.
            cursor += step * -((start - earliest) // step)
        limit = min(end, window_to)
        while cursor + step <= limit:
            if cursor > now:
                out.append((cursor, cursor + step))
            cursor += step
    return out
