"""Per-request DataLoaders: one query per relation per request, whatever the page size."""

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.models import Model

from models.accounts import Account, ExpertProfile, ExpertService, Skill
from models.availability import BlockedDate, FreeDate, WeeklyRuleRow
from models.chat import Conversation
from models.enums import MeetingStatus
from models.meetings import Meeting, Reason, TimelineEvent

M = TypeVar("M", bound=Model)


def by_id(model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        rows = {row.pk: row for row in await model.filter(id__in=list(set(ids)))}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


def many_by(model: type[M], key: str, order: Sequence[str] = ("id",),
            **filters: Any) -> DataLoader[int, list[M]]:
    async def load(keys: Sequence[int]) -> list[list[M]]:
        grouped: defaultdict[int, list[M]] = defaultdict(list)
        rows = await model.filter(**{f"{key}__in": list(set(keys))}, **filters).order_by(*order)
        for row in rows:
            grouped[getattr(row, key)].append(row)
        return [grouped[k] for k in keys]

    return DataLoader(load_fn=load)


def m2m_skills(relation: str) -> DataLoader[int, list[Skill]]:
    """Skills of services or profiles (`relation` is Skill's side of the many-to-many), in
    one query."""

    async def load(keys: Sequence[int]) -> list[list[Skill]]:
        grouped: defaultdict[int, list[Skill]] = defaultdict(list)
        rows = await Skill.filter(**{f"{relation}__id__in": list(set(keys))}).values(
            "id", "name", owner=f"{relation}__id")
        for row in sorted(rows, key=lambda r: r["name"]):
            grouped[row["owner"]].append(Skill(id=row["id"], name=row["name"]))
        return [grouped[k] for k in keys]

    return DataLoader(load_fn=load)


def profile_by_account() -> DataLoader[int, ExpertProfile | None]:
    async def load(ids: Sequence[int]) -> list[ExpertProfile | None]:
        rows = {p.account_id: p for p in await ExpertProfile.filter(account_id__in=list(set(ids)))}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


def conversation_by_pair() -> DataLoader[tuple[int, int], Conversation | None]:
    async def load(pairs: Sequence[tuple[int, int]]) -> list[Conversation | None]:
        lows = {p[0] for p in pairs}
        highs = {p[1] for p in pairs}
        rows = await Conversation.filter(account_low_id__in=lows, account_high_id__in=highs)
        found = {(c.account_low_id, c.account_high_id): c for c in rows}
        return [found.get(p) for p in pairs]

    return DataLoader(load_fn=load)


def meetings_of_pair() -> DataLoader[tuple[int, int], list[Meeting]]:
    """A conversation's meetings: those between its two accounts, either way round."""

    async def load(pairs: Sequence[tuple[int, int]]) -> list[list[Meeting]]:
        accounts = {a for pair in pairs for a in pair}
        rows = await Meeting.filter(user_id__in=accounts, expert_id__in=accounts).order_by(
            "starts_at", "id")
        grouped: defaultdict[tuple[int, int], list[Meeting]] = defaultdict(list)
        for row in rows:
            low, high = sorted((row.user_id, row.expert_id))
            grouped[(low, high)].append(row)
        return [grouped[pair] for pair in pairs]

    return DataLoader(load_fn=load)


def agreed_of(account_id: int | None) -> DataLoader[tuple[Any, Any, int], list[Meeting]]:
    """The account's AGREED meetings overlapping [start, end), excluding one meeting: one
    query for a whole page of `Meeting.conflicts`."""

    async def load(keys: Sequence[tuple[Any, Any, int]]) -> list[list[Meeting]]:
        if account_id is None or not keys:
            return [[] for _ in keys]
        rows = await Meeting.filter(
            Q(user_id=account_id) | Q(expert_id=account_id),
            status=MeetingStatus.AGREED,
            starts_at__lt=max(k[1] for k in keys),
            ends_at__gt=min(k[0] for k in keys),
        ).order_by("starts_at", "id")
        return [[r for r in rows if r.starts_at < end and r.ends_at > start and r.id != exclude]
                for start, end, exclude in keys]

    return DataLoader(load_fn=load)


class Loaders:
    def __init__(self, viewer_id: int | None = None) -> None:
        self.account = by_id(Account)
        self.service = by_id(ExpertService)
        self.skill = by_id(Skill)
        self.reason = by_id(Reason)
        self.meeting = by_id(Meeting)
        self.timeline = many_by(TimelineEvent, "meeting_id", ("id",))
        self.service_skills = m2m_skills("services")
        self.profile_skills = m2m_skills("experts")
        self.services_of = many_by(ExpertService, "expert_id", ("id",))
        self.profile = profile_by_account()
        self.conversation = conversation_by_pair()
        self.pair_meetings = meetings_of_pair()
        self.conflicts = agreed_of(viewer_id)
        self.weekly_rules = many_by(WeeklyRuleRow, "expert_id", ("weekday", "start_minute"))
        self.free_dates = many_by(FreeDate, "expert_id", ("starts_at",))
        self.blocked_dates = many_by(BlockedDate, "expert_id", ("starts_at",))


Factory = Callable[[], Loaders]
