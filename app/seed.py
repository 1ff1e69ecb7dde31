"""Reference data (reason lists) and the demo data set. Both idempotent."""

from datetime import datetime, timedelta

from core import clock
from models.accounts import Account
from models.enums import MeetingAction, ReasonKind
from models.meetings import Meeting, Reason

REASONS: dict[ReasonKind, list[tuple[str, str]]] = {
    ReasonKind.REJECTION: [
        ("NOT_AVAILABLE", "I am not available at this time"),
        ("OUT_OF_SCOPE", "The topic is outside my expertise"),
        ("NEEDS_MORE_INFO", "I need more information first"),
        ("OTHER", "Other reason"),
    ],
    ReasonKind.CANCELLATION: [
        ("SCHEDULE_CONFLICT", "Schedule conflict"),
        ("ILLNESS", "Illness"),
        ("EMERGENCY", "Personal emergency"),
        ("NO_LONGER_NEEDED", "The meeting is no longer needed"),
        ("OTHER", "Other reason"),
    ],
}


async def seed_reasons() -> None:
    for kind, rows in REASONS.items():
        for position, (code, label) in enumerate(rows):
            await Reason.update_or_create(
                kind=kind, code=code, defaults={"label": label, "position": position}
            )


DEMO_EXPERT = ("demo-expert", "Erika Expert", "Europe/Berlin")
DEMO_USER = ("demo-user", "Uma User", "America/New_York")
DEMO_ADMIN = "demo-admin"


def _next_weekday_at(now: datetime, days: int, hour: int) -> datetime:
    day = (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0, microsecond=0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


async def seed_demo() -> bool:
    """Creates the demo accounts and meetings once; False when they already exist."""
    from app.auth import Claims, account_for
    from resolvers import account_actions, experts
    from resolvers import meetings as actions

    if await Account.filter(key=DEMO_EXPERT[0]).exists():
        return False
    expert = await account_for(Claims(DEMO_EXPERT[0], DEMO_EXPERT[1], "erika@example.com",
                                      DEMO_EXPERT[2], False))
    user = await account_for(Claims(DEMO_USER[0], DEMO_USER[1], "uma@example.com",
                                    DEMO_USER[2], False))
    admin = await account_for(Claims(DEMO_ADMIN, "Ada Admin", "", None, True))
    await experts.update_profile(expert, "Product strategy and pricing", ["Strategy", "Pricing"])
    strategy = await experts.create_service(expert, "Strategy session", "One hour, one question.",
                                            ["Strategy"], 60, 50)
    await experts.create_service(expert, "Pricing review", None, ["Pricing"], 30, 25)
    await experts.set_weekly(expert, "UTC", [
        experts.RuleInput(day, "08:00", "18:00") for day in range(7)
    ])
    await account_actions.grant_credits(admin, user.id, 500, "demo-initial-grant")
    skill = (await strategy.skills.all())[0]
    now = clock.now()
    ids = []
    for days in (3, 4, 5, 6):
        outcome = await actions.request_meeting(user, strategy.id, skill.id,
                                                _next_weekday_at(now, days, 9 + days))
        ids.append(outcome.meeting.id)
    await actions.act(expert, MeetingAction.CONFIRM, ids[1])
    await actions.act(expert, MeetingAction.DECLINE, ids[2], reason_code="NOT_AVAILABLE")
    await actions.act(expert, MeetingAction.CONFIRM, ids[3])
    await actions.act(expert, MeetingAction.RESCHEDULE, ids[3],
                      new_starts_at=_next_weekday_at(now, 8, 10))
    return bool(await Meeting.filter(id__in=ids).count())
