"""The system's own actions (SPEC §4 S1–S6): `record` is how workers record one on a meeting
they hold locked (a reminder sent, a conference created, moved, failed or deleted); S1 and S2
are run here by the worker's sweeps or `meetings sweep`.

Each meeting is handled in its own transaction and re-checked under its row lock, so that
sweeps on several workers, or a sweep racing a participant, apply each change once.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from tortoise.transactions import in_transaction

from core import clock
from models import lifecycle
from models.enums import MeetingStatus
from models.lifecycle import SystemAction, state_of
from models.meetings import Meeting
from resolvers.effects import apply_rule

BATCH = 500


async def record(meeting: Meeting, action: SystemAction, *,
                 assign: Mapping[str, Any] | None = None, join_url: str | None = None) -> bool:
    """Applies the system action's row to a meeting locked by the caller's transaction;
    False (and nothing written) when its guard does not hold. `assign`: the columns the
    provider's answer sets (join URL, external id); `join_url`: the link S4 carries."""
    rule = lifecycle.system_rule(action)
    if not rule.when(state_of(meeting)):
        return False
    await apply_rule(meeting, rule, None, assign=assign, join_url=join_url)
    return True


async def _run(action: SystemAction, ids: list[int], now: datetime) -> int:
    rule = lifecycle.system_rule(action)
    done = 0
    for meeting_id in ids:
        async with in_transaction():
            meeting = await Meeting.select_for_update().get_or_none(id=meeting_id)
            if (meeting is None or not rule.when(state_of(meeting))
                    or not lifecycle.system_due(action, meeting.starts_at, meeting.ends_at,
                                                now)):
                continue
            await apply_rule(meeting, rule, None)
            done += 1
    return done


async def complete_ended(now: datetime | None = None) -> int:
    """S1: AGREED meetings that have ended become COMPLETED and their credits are captured."""
    now = now or clock.now()
    # `starts_at__lte` adds nothing logically (an ended meeting has started) but lets the
    # (status, starts_at) index bound the scan: without it this read every meeting.
    ids = await Meeting.filter(status=MeetingStatus.AGREED, starts_at__lte=now,
                               ends_at__lte=now).order_by(
        "ends_at").limit(BATCH).values_list("id", flat=True)
    return await _run(SystemAction.COMPLETE, cast(list[int], ids), now)


async def expire_started(now: datetime | None = None) -> int:
    """S2: AWAITING_APPROVAL meetings whose start has passed expire; blocked credits return."""
    now = now or clock.now()
    ids = await Meeting.filter(
        status=MeetingStatus.AWAITING_APPROVAL, starts_at__lte=now
    ).order_by("starts_at").limit(BATCH).values_list("id", flat=True)
    return await _run(SystemAction.EXPIRE, cast(list[int], ids), now)


async def sweep(now: datetime | None = None) -> dict[str, int]:
    return {"completed": await complete_ended(now), "expired": await expire_started(now)}
