"""Expert profiles, services and free dates (SPEC §1, §6)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from tortoise.transactions import in_transaction

from core import clock
from core.errors import ErrorCode
from models import freetime
from models.accounts import Account, ExpertProfile, ExpertService, Skill
from models.availability import BlockedDate, FreeDate, WeeklyRuleRow
from models.errors import DomainError
from resolvers import busy_calendars

MAX_TEXT = 255


async def ensure_profile(account: Account) -> ExpertProfile:
    profile, _ = await ExpertProfile.get_or_create(
        account_id=account.id, defaults={"availability_timezone": account.timezone}
    )
    return profile


async def skills_named(names: Sequence[str], field: str = "skillNames") -> list[Skill]:
    cleaned = []
    for i, name in enumerate(names):
        value = name.strip()
        if not value or len(value) > 100:
            raise DomainError(ErrorCode.INVALID_INPUT, "A skill name has 1 to 100 characters.",
                              f"{field}[{i}]")
        if value not in cleaned:
            cleaned.append(value)
    found = {s.name: s for s in await Skill.filter(name__in=cleaned)}
    for value in cleaned:
        if value not in found:
            found[value], _ = await Skill.get_or_create(name=value)
    return [found[v] for v in cleaned]


async def update_profile(account: Account, headline: str | None,
                         skill_names: Sequence[str] | None) -> ExpertProfile:
    if headline is not None and len(headline) > MAX_TEXT:
        raise DomainError(ErrorCode.INVALID_INPUT, "The headline is too long.", "headline")
    async with in_transaction():
        profile = await ensure_profile(account)
        if headline is not None:
            profile.headline = headline
            await profile.save()
        if skill_names is not None:
            skills = await skills_named(skill_names)
            await profile.skills.clear()
            if skills:
                await profile.skills.add(*skills)
    return profile


def _check_service_values(title: str | None, length: int | None, price: int | None) -> None:
    if title is not None and not (0 < len(title.strip()) <= MAX_TEXT):
        raise DomainError(ErrorCode.INVALID_INPUT, "A title has 1 to 255 characters.", "title")
    if length is not None and not (0 < length <= 24 * 60):
        raise DomainError(ErrorCode.INVALID_INPUT,
                          "The length is 1 to 1440 minutes.", "lengthMinutes")
    if price is not None and price <= 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "The price must be positive.", "priceCredits")


async def create_service(account: Account, title: str, description: str | None,
                         skill_names: Sequence[str], length: int, price: int) -> ExpertService:
    _check_service_values(title, length, price)
    if not skill_names:
        raise DomainError(ErrorCode.INVALID_INPUT, "Name at least one skill.", "skillNames")
    async with in_transaction():
        await ensure_profile(account)
        skills = await skills_named(skill_names)
        service = await ExpertService.create(expert_id=account.id, title=title.strip(),
                                             description=description, length_minutes=length,
                                             price_credits=price, created_at=clock.now())
        await service.skills.add(*skills)
    return service


async def update_service(account: Account, service_id: int | None, *, title: str | None,
                         description: str | None, skill_names: Sequence[str] | None,
                         length: int | None, price: int | None,
                         active: bool | None) -> ExpertService:
    _check_service_values(title, length, price)
    if skill_names is not None and not skill_names:
        raise DomainError(ErrorCode.INVALID_INPUT, "Name at least one skill.", "skillNames")
    async with in_transaction():
        service = (
            await ExpertService.select_for_update().get_or_none(id=service_id, expert_id=account.id)
            if service_id else None
        )
        if service is None:
            raise DomainError(ErrorCode.NOT_FOUND, "Service not found.", "id")
        changes = {"title": title.strip() if title else None, "description": description,
                   "length_minutes": length, "price_credits": price, "active": active}
        for name, value in changes.items():
            if value is not None:
                setattr(service, name, value)
        await service.save()
        if skill_names is not None:
            skills = await skills_named(skill_names)
            await service.skills.clear()
            await service.skills.add(*skills)
    return service


@dataclass
class RuleInput:
    weekday: int
    start_time: str
    end_time: str


async def set_weekly(account: Account, timezone: str, rules: Sequence[RuleInput]) -> None:
    if not freetime.valid_timezone(timezone):
        raise DomainError(ErrorCode.INVALID_INPUT, f"Unknown time zone {timezone!r}.",
                          "timezone")
    parsed = []
    for i, rule in enumerate(rules):
        for attr, allow_24 in (("start_time", False), ("end_time", True)):
            try:
                getattr(rule, attr) and freetime.parse_hhmm(getattr(rule, attr),
                                                            allow_24=allow_24)
            except ValueError as exc:
                camel = "startTime" if attr == "start_time" else "endTime"
                raise DomainError(ErrorCode.INVALID_INPUT, str(exc),
                                  f"rules[{i}].{camel}") from None
        parsed.append(freetime.WeeklyRule(
            rule.weekday, freetime.parse_hhmm(rule.start_time, allow_24=False),
            freetime.parse_hhmm(rule.end_time, allow_24=True)))
    try:
        freetime.validate_rules(parsed)
    except ValueError as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, str(exc), "rules") from None
    async with in_transaction():
        profile = await ensure_profile(account)
        if profile.availability_timezone != timezone:
            # All-day and floating busy times are read in this zone: read them again.
            await busy_calendars.reread_soon(account.id)
        profile.availability_timezone = timezone
        await profile.save()
        await WeeklyRuleRow.filter(expert_id=account.id).delete()
        await WeeklyRuleRow.bulk_create([
            WeeklyRuleRow(expert_id=account.id, weekday=r.weekday, start_minute=r.start_minute,
                          end_minute=r.end_minute) for r in parsed
        ])


def _check_ranges(ranges: Sequence[tuple[datetime, datetime]]) -> None:
    for i, (start, end) in enumerate(ranges):
        if end <= start:
            raise DomainError(ErrorCode.INVALID_INPUT, "The end must be after the start.",
                              f"input[{i}].endsAt")


DateRow = TypeVar("DateRow", FreeDate, BlockedDate)


async def add_dates(account: Account, model: type[DateRow],
                    ranges: Sequence[tuple[datetime, datetime]]) -> None:
    _check_ranges(ranges)
    async with in_transaction():
        await ensure_profile(account)
        await model.bulk_create([model(expert_id=account.id, starts_at=s, ends_at=e)
                                 for s, e in ranges])


async def remove_dates(account: Account, model: type[DateRow],
                       ids: Sequence[int | None]) -> None:
    async with in_transaction():
        known = set(await model.filter(expert_id=account.id,
                                       id__in=[i for i in ids if i is not None])
                    .values_list("id", flat=True))
        for i, id_ in enumerate(ids):
            if id_ not in known:
                raise DomainError(ErrorCode.NOT_FOUND, "Date not found.", f"ids[{i}]")
        await model.filter(id__in=known).delete()
