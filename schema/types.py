"""Object types. Each wraps its model row (`row`, private) and resolves relations through the
request's DataLoaders. No lifecycle rules here: availableActions asks models/lifecycle.py."""

from collections.abc import Callable, Hashable
from datetime import timedelta
from typing import Any, TypeVar, cast

import strawberry
from graphql.pyutils import Undefined, UndefinedType
from strawberry.dataloader import DataLoader
from strawberry.types import Info as _Info

from core import clock
from models import accounts as am
from models import calendars as calm
from models import chat as cm
from models import freetime, lifecycle, rows
from models import ledger as lm
from models import meetings as mm
from models import notifications as nm
from models.lifecycle import state_of
from resolvers import access, busy_calendars, calendar_feed, queries
from resolvers.context import Context
from resolvers.loaders import Loaders
from resolvers.pagination import Page
from schema import enums
from schema.executor import READY
from schema.pagination import PageInfo
from schema.scalars import DateTime, to_global_id

Info = _Info[Context, None]
V = TypeVar("V")
R = TypeVar("R")


def _ready(loader: DataLoader[Any, V], key: Hashable, wrap: Callable[[V], R]
           ) -> R | UndefinedType:
    """`wrap(value)` when the request already holds the loader's value for `key` (a list
    page primes its relations, see resolvers/queries.py), else Undefined."""
    future = loader.cache_map.get(key) if loader.cache else None
    if (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        return wrap(future.result())
    return Undefined


def _loaded(loader: DataLoader[Any, V], key: Hashable, wrap: Callable[[V], R]) -> R:
    """`wrap(value)` at once when the value is loaded, else an awaitable of it. graphql-core
    takes either; the ready case costs no task, no gather and no await, which on a
    20-meeting page is most of the execution time the profile showed."""
    value = _ready(loader, key, wrap)
    if value is not Undefined:
        return cast(R, value)

    async def later() -> R:
        return wrap(await loader.load(key))

    return cast(R, later())


def relation(graphql_type: Any, loader: Callable[[Loaders], DataLoader[Any, Any]],
             key: Callable[[Any], Hashable], wrap: Callable[[Any], Any]) -> Any:
    """A field that is `wrap` of what the request's `loader` holds for `key(source)`. Its
    READY function hands schema/executor.py the value when it is already loaded, so that a
    primed page completes these fields without a resolver call; the resolver gives the same
    value, or awaits the loader."""

    def ready(source: Any, context: Context) -> Any:
        return _ready(loader(context.loaders), key(source), wrap)

    def resolve(root: Any, info: Info) -> Any:
        return _loaded(loader(info.context.loaders), key(root), wrap)

    # Not annotated in the class, so that the field keeps its place among the resolver
    # fields of the exported schema.
    return strawberry.field(resolver=resolve, graphql_type=graphql_type, metadata={READY: ready})


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class Skill:
    id: strawberry.ID
    name: str

    @classmethod
    def of(cls, row: am.Skill | rows.SkillRow | None) -> "Skill":
        assert row is not None
        return cls(id=to_global_id("Skill", row.id), name=row.name)


@strawberry.type
class CreditBalance:
    available: int
    blocked: int


@strawberry.type
class WeeklyRule:
    weekday: enums.Weekday
    start_time: str = strawberry.field(description="Local time in the expert's time zone, HH:MM.")
    end_time: str


@strawberry.type
class FreeDate:
    id: strawberry.ID
    starts_at: DateTime
    ends_at: DateTime


@strawberry.type
class BlockedDate:
    id: strawberry.ID
    starts_at: DateTime
    ends_at: DateTime


@strawberry.type
class Availability:
    timezone: str
    expert_id: strawberry.Private[int]

    @strawberry.field
    async def weekly_rules(self, info: Info) -> list[WeeklyRule]:
        rows = await info.context.loaders.weekly_rules.load(self.expert_id)
        return [
            WeeklyRule(
                weekday=enums.Weekday(r.weekday),
                start_time=freetime.format_hhmm(r.start_minute),
                end_time=freetime.format_hhmm(r.end_minute),
            )
            for r in rows
        ]

    @strawberry.field
    async def free_dates(self, info: Info) -> list[FreeDate]:
        rows = await info.context.loaders.free_dates.load(self.expert_id)
        return [
            FreeDate(id=to_global_id("FreeDate", r.id), starts_at=r.starts_at, ends_at=r.ends_at)
            for r in rows
        ]

    @strawberry.field
    async def blocked_dates(self, info: Info) -> list[BlockedDate]:
        rows = await info.context.loaders.blocked_dates.load(self.expert_id)
        return [
            BlockedDate(
                id=to_global_id("BlockedDate", r.id), starts_at=r.starts_at, ends_at=r.ends_at
            )
            for r in rows
        ]


@strawberry.type
class ExpertService(Node):
    row: strawberry.Private[am.ExpertService | rows.ServiceRow]

    @classmethod
    def of(cls, row: am.ExpertService | rows.ServiceRow | None) -> "ExpertService":
        assert row is not None
        # Plain fields are copied once: Strawberry resolves them without a resolver call.
        return cls(
            id=to_global_id("ExpertService", row.id),
            row=row,
            title=row.title,
            description=row.description,
            length_minutes=row.length_minutes,
            price_credits=row.price_credits,
            active=row.active,
        )

    @strawberry.field
    async def expert(self, info: Info) -> "Account":
        return Account.of(await info.context.loaders.account.load(self.row.expert_id))

    title: str
    description: str | None

    @strawberry.field
    async def skills(self, info: Info) -> list[Skill]:
        return [Skill.of(s) for s in await info.context.loaders.service_skills.load(self.row.id)]

    length_minutes: int
    price_credits: int
    active: bool


@strawberry.type
class ExpertProfile:
    row: strawberry.Private[am.ExpertProfile]

    @strawberry.field
    def headline(self) -> str | None:
        return self.row.headline

    @strawberry.field
    async def skills(self, info: Info) -> list[Skill]:
        return [Skill.of(s) for s in await info.context.loaders.profile_skills.load(self.row.id)]

    @strawberry.field
    async def services(self, info: Info) -> list[ExpertService]:
        rows = await info.context.loaders.services_of.load(self.row.account_id)
        return [ExpertService.of(s) for s in rows]

    @strawberry.field
    def availability(self) -> Availability:
        return Availability(timezone=self.row.availability_timezone, expert_id=self.row.account_id)


@strawberry.type
class Account(Node):
    row: strawberry.Private[am.Account | rows.AccountRow]

    @classmethod
    def of(cls, row: am.Account | rows.AccountRow | None) -> "Account":
        assert row is not None
        # Plain fields are copied once: Strawberry resolves them without a resolver call.
        return cls(
            id=to_global_id("Account", row.id),
            row=row,
            display_name=row.display_name,
            timezone=row.timezone,
        )

    display_name: str
    timezone: str

    @strawberry.field
    async def is_expert(self, info: Info) -> bool:
        return await info.context.loaders.profile.load(self.row.id) is not None

    @strawberry.field
    async def expert_profile(self, info: Info) -> ExpertProfile | None:
        profile = await info.context.loaders.profile.load(self.row.id)
        return ExpertProfile(row=profile) if profile else None


@strawberry.type
class Reason:
    code: str
    label: str
    kind: enums.ReasonKind

    @classmethod
    def of(cls, row: mm.Reason) -> "Reason":
        return cls(code=row.code, label=row.label, kind=row.kind)


async def _reason(info: Info, reason_id: int | None) -> Reason | None:
    if reason_id is None:
        return None
    row = await info.context.loaders.reason.load(reason_id)
    return Reason.of(row) if row else None


@strawberry.type
class TimelineEvent:
    row: strawberry.Private[mm.TimelineEvent | rows.TimelineRow]
    id: strawberry.ID

    @classmethod
    def of(cls, row: mm.TimelineEvent | rows.TimelineRow) -> "TimelineEvent":
        # Plain fields are copied once: Strawberry resolves them without a resolver call.
        return cls(
            id=to_global_id("TimelineEvent", row.id),
            row=row,
            kind=row.kind,
            label=row.label,
            at=row.at,
            actor=row.actor,
            starts_at=row.starts_at,
            note=row.note,
        )

    kind: enums.TimelineEventKind
    label: str = strawberry.field(description="Human-readable label, e.g. 'Expert Approval'.")
    at: DateTime
    actor: enums.Party | None = strawberry.field(
        description="Null for events the system records by itself."
    )
    starts_at: DateTime | None

    @strawberry.field
    async def reason(self, info: Info) -> Reason | None:
        return await _reason(info, self.row.reason_id)

    note: str | None


@strawberry.type
class AlternativeDate:
    starts_at: DateTime
    ends_at: DateTime
    proposed_by: enums.Party
    proposed_at: DateTime


@strawberry.type
class Conference:
    provider: str
    status: enums.ConferenceStatus
    join_url: str | None


@strawberry.type
class CancellationPolicy:
    is_late: bool = strawberry.field(
        description=(
            "True when a cancellation now needs acknowledgeLateCancellation "
            "(under 48 h before start)."
        )
    )
    late_from: DateTime = strawberry.field(
        description=(
            "The moment from which a cancellation is late: startsAt minus the late window (48 h)."
        )
    )


@strawberry.type
class Meeting(Node):
    row: strawberry.Private[mm.Meeting | rows.MeetingRow]

    @classmethod
    def of(cls, row: mm.Meeting | rows.MeetingRow) -> "Meeting":
        # Plain fields are copied once: Strawberry resolves them without a resolver call.
        return cls(
            id=to_global_id("Meeting", row.id),
            row=row,
            version=row.version,
            status=row.status,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            length_minutes=row.length_minutes,
            price_credits=row.price_credits,
            credit_payment_status=row.credit_status,
            approved_by_user=row.approved_by_user,
            approved_by_expert=row.approved_by_expert,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )

    def _viewer_party(self, info: Info) -> enums.Party:
        party = access.party_in(self.row, access.require_viewer(info.context))
        assert party is not None, "meetings are only resolved for their participants"
        return party

    version: int
    status: enums.MeetingStatus

    user = relation(Account, lambda loaders: loaders.account, lambda m: m.row.user_id,
                    Account.of)
    expert = relation(Account, lambda loaders: loaders.account, lambda m: m.row.expert_id,
                      Account.of)
    service = relation(ExpertService, lambda loaders: loaders.service,
                       lambda m: m.row.service_id, ExpertService.of)
    skill = relation(Skill, lambda loaders: loaders.skill, lambda m: m.row.skill_id, Skill.of)

    starts_at: DateTime
    ends_at: DateTime
    length_minutes: int
    price_credits: int
    credit_payment_status: enums.CreditPaymentStatus
    approved_by_user: bool
    approved_by_expert: bool

    @strawberry.field
    def awaiting_response_from(self) -> enums.Party | None:
        return lifecycle.awaiting_response_from(state_of(self.row))

    @strawberry.field
    def alternative(self) -> AlternativeDate | None:
        row = self.row
        # The three are set and cleared together (resolvers/effects.py).
        if row.alt_starts_at is None or row.alt_proposed_by is None or row.alt_proposed_at is None:
            return None
        return AlternativeDate(
            starts_at=row.alt_starts_at,
            ends_at=row.alt_starts_at + timedelta(minutes=row.length_minutes),
            proposed_by=row.alt_proposed_by,
            proposed_at=row.alt_proposed_at,
        )

    created_by: enums.Party

    @strawberry.field(description="The viewer's side in this meeting.")
    def viewer_role(self, info: Info) -> enums.Party:
        return self._viewer_party(info)

    @strawberry.field(description="What the viewer may do now, per the lifecycle rules.")
    def available_actions(self, info: Info) -> list[enums.MeetingAction]:
        if lifecycle.has_started(self.row.starts_at, clock.now()):
            return []
        return lifecycle.available_actions(self._viewer_party(info), state_of(self.row))

    @strawberry.field(
        description=(
            "The viewer's AGREED meetings that overlap this one (or its pending alternative)."
        )
    )
    async def conflicts(self, info: Info) -> list["Meeting"]:
        row = self.row
        found: dict[int, mm.Meeting] = {}
        intervals = [(row.starts_at, row.ends_at)]
        if row.alt_starts_at is not None:
            intervals.append((row.alt_starts_at, row.alt_ends_at() or row.alt_starts_at))
        for start, end in intervals:
            for m in await info.context.loaders.conflicts.load((start, end, row.id)):
                found[m.id] = m
        return [Meeting.of(m) for m in sorted(found.values(), key=lambda m: m.starts_at)]

    @strawberry.field
    def cancellation_policy(self, info: Info) -> CancellationPolicy:
        hours = info.context.settings.late_cancellation_hours
        return CancellationPolicy(
            is_late=lifecycle.is_late(self.row.starts_at, clock.now(), hours),
            late_from=self.row.starts_at - timedelta(hours=hours),
        )

    @strawberry.field
    async def rejection_reason(self, info: Info) -> Reason | None:
        return await _reason(info, self.row.rejection_reason_id)

    @strawberry.field
    async def cancellation_reason(self, info: Info) -> Reason | None:
        return await _reason(info, self.row.cancellation_reason_id)

    @strawberry.field
    def conference(self) -> Conference | None:
        row = self.row
        if row.conference_status is None:
            return None
        return Conference(
            provider=row.conference_provider or "",
            status=row.conference_status,
            join_url=row.conference_join_url,
        )

    timeline = relation(list[TimelineEvent], lambda loaders: loaders.timeline,
                        lambda m: m.row.id, lambda rows: [TimelineEvent.of(e) for e in rows])

    @strawberry.field
    async def conversation(self, info: Info) -> "Conversation | None":
        pair = tuple(sorted((self.row.user_id, self.row.expert_id)))
        row = await info.context.loaders.conversation.load(pair)  # type: ignore[arg-type]
        return Conversation.of(row) if row else None

    created_at: DateTime
    updated_at: DateTime


@strawberry.type
class MeetingEdge:
    cursor: str
    node: Meeting


@strawberry.type
class MeetingConnection:
    edges: list[MeetingEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, page: Page[rows.MeetingRow]) -> "MeetingConnection":
        return cls(edges=[MeetingEdge(cursor=c, node=Meeting.of(r))
                          for r, c in zip(page.rows, page.cursors, strict=True)],
                   page_info=PageInfo.of(page), total_count=page.total or 0)


@strawberry.type
class CreditEntry(Node):
    row: strawberry.Private[lm.CreditEntry]

    @classmethod
    def of(cls, row: lm.CreditEntry) -> "CreditEntry":
        # Plain fields are copied once: Strawberry resolves them without a resolver call.
        return cls(
            id=to_global_id("CreditEntry", row.id),
            row=row,
            kind=row.kind,
            available_delta=row.available_delta,
            blocked_delta=row.blocked_delta,
            reference=row.reference,
            created_at=row.created_at,
        )

    kind: enums.CreditEntryKind
    available_delta: int
    blocked_delta: int

    @strawberry.field
    async def meeting(self, info: Info) -> Meeting | None:
        return await visible_meeting(info, self.row.meeting_id)

    reference: str | None = strawberry.field(
        description="The grant's idempotency reference, for GRANT entries."
    )
    created_at: DateTime


@strawberry.type
class CreditEntryEdge:
    cursor: str
    node: CreditEntry


@strawberry.type
class CreditEntryConnection:
    edges: list[CreditEntryEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[lm.CreditEntry]) -> "CreditEntryConnection":
        return cls(edges=[CreditEntryEdge(cursor=c, node=CreditEntry.of(r))
                          for r, c in zip(page.rows, page.cursors, strict=True)],
                   page_info=PageInfo.of(page))


async def visible_meeting(info: Info, meeting_id: int | None) -> Meeting | None:
    row = await access.visible_meeting(access.require_viewer(info.context), meeting_id,
                                       info.context)
    return Meeting.of(row) if row else None


@strawberry.type
class Notification(Node):
    row: strawberry.Private[nm.Notification]

    @classmethod
    def of(cls, row: nm.Notification) -> "Notification":
        # Plain fields are copied once: Strawberry resolves them without a resolver call.
        return cls(
            id=to_global_id("Notification", row.id),
            row=row,
            kind=row.kind,
            title=row.title,
            body=row.body,
            created_at=row.created_at,
            read_at=row.read_at,
        )

    kind: enums.NotificationKind
    title: str
    body: str

    @strawberry.field
    async def meeting(self, info: Info) -> Meeting | None:
        return await visible_meeting(info, self.row.meeting_id)

    created_at: DateTime
    read_at: DateTime | None


@strawberry.type
class NotificationEdge:
    cursor: str
    node: Notification


@strawberry.type
class NotificationConnection:
    edges: list[NotificationEdge]
    page_info: PageInfo
    unread_count: int

    @classmethod
    def of(cls, page: Page[nm.Notification], unread: int) -> "NotificationConnection":
        return cls(edges=[NotificationEdge(cursor=c, node=Notification.of(r))
                          for r, c in zip(page.rows, page.cursors, strict=True)],
                   page_info=PageInfo.of(page), unread_count=unread)


@strawberry.type
class Message(Node):
    row: strawberry.Private[cm.Message]

    @classmethod
    def of(cls, row: cm.Message) -> "Message":
        # Plain fields are copied once: Strawberry resolves them without a resolver call.
        return cls(
            id=to_global_id("Message", row.id),
            row=row,
            kind=row.kind,
            body=row.body,
            created_at=row.created_at,
        )

    kind: enums.MessageKind

    @strawberry.field
    async def author(self, info: Info) -> Account:
        return Account.of(await info.context.loaders.account.load(self.row.author_id))

    body: str

    @strawberry.field
    async def meeting(self, info: Info) -> Meeting | None:
        return await visible_meeting(info, self.row.meeting_id)

    created_at: DateTime


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[cm.Message]) -> "MessageConnection":
        return cls(edges=[MessageEdge(cursor=c, node=Message.of(r))
                          for r, c in zip(page.rows, page.cursors, strict=True)],
                   page_info=PageInfo.of(page))


@strawberry.type
class Conversation(Node):
    row: strawberry.Private[cm.Conversation]

    @classmethod
    def of(cls, row: cm.Conversation) -> "Conversation":
        return cls(id=to_global_id("Conversation", row.id), row=row)

    @strawberry.field
    async def participants(self, info: Info) -> list[Account]:
        rows = await info.context.loaders.account.load_many(list(self.row.participant_ids))
        return [Account.of(r) for r in rows]

    @strawberry.field(description="Newest first.")
    async def messages(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> MessageConnection:
        # The conversation was resolved for one of its participants (access.py).
        return MessageConnection.of(await queries.message_page(self.row.id, first, after))

    @strawberry.field
    async def meetings(self, info: Info) -> list[Meeting]:
        rows = await info.context.loaders.pair_meetings.load(self.row.participant_ids)
        return [Meeting.of(r) for r in rows]


@strawberry.type
class TimeSlot:
    starts_at: DateTime
    ends_at: DateTime


@strawberry.type(description=(
    "A private iCalendar feed of the viewer's meetings, to subscribe to from any calendar app."))
class CalendarFeed:
    url: str = strawberry.field(description=(
        "The secret feed URL, ending in .ics. Whoever has it can read the feed: rotate to "
        "revoke."))
    created_at: DateTime

    @classmethod
    def of(cls, link: calendar_feed.FeedLink) -> "CalendarFeed":
        return cls(url=link.url, created_at=link.created_at)


@strawberry.type(description=(
    "An iCalendar URL of the viewer's own calendar; its busy times are not bookable here."))
class BusyCalendar(Node):
    row: strawberry.Private[calm.BusyCalendar]
    name: str
    url: str
    last_fetched_at: DateTime | None = strawberry.field(
        description="When the URL was last fetched successfully.")
    last_error: str | None = strawberry.field(description=(
        "Why the last fetch or parse failed, if it did; the last good copy still counts."))

    @classmethod
    def of(cls, row: calm.BusyCalendar) -> "BusyCalendar":
        return cls(id=to_global_id("BusyCalendar", row.id), row=row, name=row.name,
                   url=row.url, last_fetched_at=row.last_fetched_at, last_error=row.last_error)

    @strawberry.field(description=(
        "Busy intervals known from this calendar within the look-ahead horizon."))
    async def busy_count(self) -> int:
        return await busy_calendars.busy_count(self.row.id)


def base_url(info: Info) -> str:
    """The API's address as the client reached it (feed links when PUBLIC_URL is unset)."""
    request = info.context.request
    return str(request.base_url) if request is not None else "http://localhost"


@strawberry.type
class Viewer:
    row: strawberry.Private[am.Account]

    @strawberry.field
    def account(self) -> Account:
        return Account.of(self.row)

    @strawberry.field(description="Only the viewer sees their own credits.")
    async def credits(self) -> CreditBalance:
        fresh = await am.Account.get(id=self.row.id)
        return CreditBalance(available=fresh.credits_available, blocked=fresh.credits_blocked)

    @strawberry.field(description="The viewer's credit ledger, newest first.")
    async def credit_ledger(
        self, first: int | None = 20, after: str | None = None
    ) -> CreditEntryConnection:
        return CreditEntryConnection.of(await queries.ledger_page(self.row.id, first, after))

    @strawberry.field
    def is_admin(self) -> bool:
        return self.row.is_admin

    @strawberry.field(description="Null until created with rotateCalendarFeed.")
    async def calendar_feed(self, info: Info) -> CalendarFeed | None:
        link = await calendar_feed.feed_of(self.row, base_url(info))
        return CalendarFeed.of(link) if link else None

    @strawberry.field
    async def busy_calendars(self) -> list[BusyCalendar]:
        return [BusyCalendar.of(c) for c in await busy_calendars.calendars_of(self.row.id)]
