"""The Query root. Resolvers are thin: they decode ids and call resolvers/."""

from datetime import timedelta
from typing import Annotated

import strawberry
from tortoise.expressions import Q

from app import clock
from models import chat as cm
from models import freetime
from models import ledger as lm
from models import meetings as mm
from models import notifications as nm
from models.enums import MeetingStatus as DomainStatus
from resolvers import queries
from resolvers.availability_check import free_time
from schema import enums
from schema import types as t
from schema.errors import PublicError
from schema.scalars import DateTime, from_global_id, parse_global_id
from schema.types import Info

MAX_SLOT_WINDOW = timedelta(days=62)


async def _node(info: Info, kind: str, pk: int) -> t.Node | None:
    viewer = info.context.viewer
    if kind == "Meeting":
        return await t.visible_meeting(info, pk)
    if kind == "Account":
        account = await info.context.loaders.account.load(pk)
        return t.Account.of(account) if account else None
    if kind == "ExpertService":
        service = await info.context.loaders.service.load(pk)
        return t.ExpertService.of(service) if service else None
    if kind == "CreditEntry":
        entry = await lm.CreditEntry.get_or_none(id=pk, account_id=viewer.id)
        return t.CreditEntry.of(entry) if entry else None
    if kind == "Notification":
        note = await nm.Notification.get_or_none(id=pk, recipient_id=viewer.id)
        return queries.notification(note) if note else None
    if kind == "Conversation":
        conversation = await cm.Conversation.get_or_none(id=pk)
        if conversation and viewer.id in conversation.participant_ids:
            return t.Conversation.of(conversation)
        return None
    if kind == "Message":
        message = await cm.Message.get_or_none(id=pk).select_related("conversation")
        if message and viewer.id in message.conversation.participant_ids:
            return t.Message.of(message)
    return None


@strawberry.type
class Query:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> t.Node | None:
        info.context.viewer  # noqa: B018 - authenticates
        parsed = parse_global_id(id)
        return await _node(info, *parsed) if parsed else None

    @strawberry.field
    def viewer(self, info: Info) -> t.Viewer:
        return t.Viewer(row=info.context.viewer)

    @strawberry.field
    async def account(self, info: Info, id: strawberry.ID) -> t.Account | None:
        info.context.viewer  # noqa: B018
        pk = from_global_id(id, "Account")
        row = await info.context.loaders.account.load(pk) if pk else None
        return t.Account.of(row) if row else None

    @strawberry.field
    async def meeting(self, info: Info, id: strawberry.ID) -> t.Meeting | None:
        info.context.viewer  # noqa: B018
        return await t.visible_meeting(info, from_global_id(id, "Meeting"))

    @strawberry.field(description=(
        "The viewer's meetings, soonest first. role EXPERT + upcoming: the meetings the viewer "
        "is assigned to as expert that have not yet taken place."))
    async def meetings(
        self,
        info: Info,
        role: enums.MeetingRole | None = enums.MeetingRole.ANY,
        upcoming: bool | None = None,
        status: list[enums.MeetingStatus] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> t.MeetingConnection:
        statuses = [DomainStatus(s) for s in status] if status else None
        return await queries.meeting_page(
            info.context.viewer.id, role or enums.MeetingRole.ANY, upcoming, statuses, first,
            after, loaders=info.context.loaders,
            node_fields=queries.selected_names(info.selected_fields, ("meetings", "edges",
                                                                      "node")))

    @strawberry.field
    async def expert_free_slots(
        self,
        info: Info,
        expert_id: strawberry.ID,
        from_: Annotated[DateTime, strawberry.argument(name="from")],
        to: DateTime,
        length_minutes: int,
    ) -> list[t.TimeSlot]:
        info.context.viewer  # noqa: B018
        if length_minutes <= 0 or length_minutes > 24 * 60:
            raise PublicError("lengthMinutes must be between 1 and 1440.", "INVALID_INPUT")
        if to <= from_ or to - from_ > MAX_SLOT_WINDOW:
            raise PublicError("`to` must be after `from`, at most 62 days later.",
                              "INVALID_INPUT")
        pk = from_global_id(expert_id, "Account")
        if pk is None:
            return []
        free = await free_time(pk, from_, to)
        return [t.TimeSlot(starts_at=s, ends_at=e)
                for s, e in freetime.slots(free, length_minutes, from_, to, clock.now())]

    @strawberry.field
    async def reasons(self, info: Info, kind: enums.ReasonKind) -> list[t.Reason]:
        info.context.viewer  # noqa: B018
        rows = await mm.Reason.filter(kind=kind).order_by("position", "id")
        return [t.Reason.of(r) for r in rows]

    @strawberry.field
    async def notifications(self, info: Info, unread_only: bool | None = False,
                            first: int | None = 20,
                            after: str | None = None) -> t.NotificationConnection:
        return await queries.notification_page(info.context.viewer.id, bool(unread_only), first,
                                               after)

    @strawberry.field
    async def conversation(self, info: Info, id: strawberry.ID) -> t.Conversation | None:
        pk = from_global_id(id, "Conversation")
        viewer = info.context.viewer
        row = await cm.Conversation.get_or_none(id=pk) if pk else None
        return t.Conversation.of(row) if row and viewer.id in row.participant_ids else None

    @strawberry.field
    async def conversations(self, info: Info, first: int | None = 20) -> list[t.Conversation]:
        from schema.pagination import page_size

        viewer = info.context.viewer
        rows = await cm.Conversation.filter(
            Q(account_low_id=viewer.id) | Q(account_high_id=viewer.id)
        ).order_by("-last_message_at", "-id").limit(page_size(first))
        return [t.Conversation.of(r) for r in rows]

