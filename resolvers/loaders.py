"""Per-request DataLoaders: one query per relation per request, whatever the page size.
Accounts, services, skills and timelines, which every meeting list reads, come as read-only
rows (models/rows.py); the others as model instances."""

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.models import Model

from models.accounts import ExpertProfile, ExpertService, Skill
from models.availability import BlockedDate, FreeDate, WeeklyRuleRow
from models.chat import Conversation
from models.enums import MeetingStatus
from models.meetings import Meeting, Reason
from models.rows import (
    AccountRow,
    Reader,
    Row,
    ServiceRow,
    SkillRow,
    TimelineRow,
    account_reader,
    service_reader,
    skill_reader,
    timeline_reader,
)

M = TypeVar("M", bound=Model)
R = TypeVar("R", bound=Row)


def by_id(model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        rows = {row.pk: row for row in await model.filter(id__in=list(set(ids)))}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


def rows_by_id(reader: Reader[R]) -> DataLoader[int, R | None]:
    async def load(ids: Sequence[int]) -> list[R | None]:
        found = {row.id: row for row in await reader.by_ids(sorted(set(ids)))}
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def timelines() -> DataLoader[int, list[TimelineRow]]:
    """Each meeting's timeline events, in the order they were recorded."""

    async def load(meeting_ids: Sequence[int]) -> list[list[TimelineRow]]:
        p = timeline_reader.params()
        rows = await timeline_reader.fetch(
            f'WHERE {p.any_of("meeting_id", sorted(set(meeting_ids)))} ORDER BY "id"', p)
        grouped: defaultdict[int, list[TimelineRow]] = defaultdict(list)
        for row in rows:
            grouped[row.meeting_id].append(row)
        return [grouped[k] for k in meeting_ids]

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
    """Built on first use: most requests touch two or three of these, and a DataLoader is not
    free to create (a viewer query paid ~50 µs for building all sixteen twice)."""

    def __init__(self, viewer_id: int | None = None) -> None:
        self.viewer_id = viewer_id

    @cached_property
    def account(self) -> DataLoader[int, AccountRow | None]:
        return rows_by_id(account_reader)

    @cached_property
    def service(self) -> DataLoader[int, ServiceRow | None]:
        return rows_by_id(service_reader)

    @cached_property
    def skill(self) -> DataLoader[int, SkillRow | None]:
        return rows_by_id(skill_reader)

    @cached_property
    def reason(self) -> DataLoader[int, Reason | None]:
        return by_id(Reason)

    @cached_property
    def meeting(self) -> DataLoader[int, Meeting | None]:
        return by_id(Meeting)

    @cached_property
    def timeline(self) -> DataLoader[int, list[TimelineRow]]:
        return timelines()

    @cached_property
    def service_skills(self) -> DataLoader[int, list[Skill]]:
        return m2m_skills("services")

    @cached_property
    def profile_skills(self) -> DataLoader[int, list[Skill]]:
        return m2m_skills("experts")

    @cached_property
    def services_of(self) -> DataLoader[int, list[ExpertService]]:
        return many_by(ExpertService, "expert_id", ("id",))

    @cached_property
    def profile(self) -> DataLoader[int, ExpertProfile | None]:
        return profile_by_account()

    @cached_property
    def conversation(self) -> DataLoader[tuple[int, int], Conversation | None]:
        return conversation_by_pair()

    @cached_property
    def pair_meetings(self) -> DataLoader[tuple[int, int], list[Meeting]]:
        return meetings_of_pair()

    @cached_property
    def conflicts(self) -> DataLoader[tuple[Any, Any, int], list[Meeting]]:
        return agreed_of(self.viewer_id)

    @cached_property
    def weekly_rules(self) -> DataLoader[int, list[WeeklyRuleRow]]:
        return many_by(WeeklyRuleRow, "expert_id", ("weekday", "start_minute"))

    @cached_property
    def free_dates(self) -> DataLoader[int, list[FreeDate]]:
        return many_by(FreeDate, "expert_id", ("starts_at",))

    @cached_property
    def blocked_dates(self) -> DataLoader[int, list[BlockedDate]]:
        return many_by(BlockedDate, "expert_id", ("starts_at",))

