"""Reading an expert's free time from the database (the rules are in models/freetime.py)."""

from datetime import datetime, timedelta

from models import freetime
from models.accounts import ExpertProfile
from models.availability import BlockedDate, FreeDate, WeeklyRuleRow
from models.calendars import BusyInterval
from models.enums import MeetingStatus
from models.meetings import Meeting


async def free_time(
    expert_id: int, start: datetime, end: datetime, exclude_meeting_id: int | None = None
) -> list[freetime.Interval]:
    profile = await ExpertProfile.get_or_none(account_id=expert_id)
    if profile is None:
        return []
    rules = [
        freetime.WeeklyRule(r.weekday, r.start_minute, r.end_minute)
        for r in await WeeklyRuleRow.filter(expert_id=expert_id)
    ]
    free = await FreeDate.filter(expert_id=expert_id, starts_at__lt=end, ends_at__gt=start)
    blocked = await BlockedDate.filter(expert_id=expert_id, starts_at__lt=end, ends_at__gt=start)
    taken_query = Meeting.filter(
        expert_id=expert_id, status=MeetingStatus.AGREED, starts_at__lt=end, ends_at__gt=start
    )
    if exclude_meeting_id is not None:
        taken_query = taken_query.exclude(id=exclude_meeting_id)
    taken = await taken_query
    # The expert's own calendars count like blocked dates (and like agreed meetings).
    busy = await BusyInterval.filter(expert_id=expert_id, starts_at__lt=end, ends_at__gt=start)
    return freetime.free_intervals(
        rules,
        profile.availability_timezone,
        [(f.starts_at, f.ends_at) for f in free],
        [*((b.starts_at, b.ends_at) for b in blocked), *((b.starts_at, b.ends_at) for b in busy)],
        [(m.starts_at, m.ends_at) for m in taken],
        start,
        end,
    )


async def is_free(
    expert_id: int, start: datetime, length_minutes: int, exclude_meeting_id: int | None = None
) -> bool:
    end = start + timedelta(minutes=length_minutes)
    # A window a little wider than the slot, so that touching free intervals merge.
    free = await free_time(expert_id, start - timedelta(days=1), end + timedelta(days=1),
                           exclude_meeting_id)
    return freetime.fits(free, start, end)
