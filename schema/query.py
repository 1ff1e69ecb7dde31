"""The Query root. Resolvers are thin: they authenticate, decode ids, ask resolvers/access.py
what the viewer may see and resolvers/queries.py for pages."""

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Annotated, Any

import strawberry
from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode

from core import clock
from core.errors import ErrorCode, PublicError
from models import freetime
from models import meetings as mm
from models.enums import MeetingRole
from models.enums import MeetingStatus as DomainStatus
from resolvers import access, queries
from resolvers.availability_check import free_time
from schema import enums
from schema import types as t
from schema.scalars import DateTime, from_global_id, parse_global_id
from schema.types import Info

MAX_SLOT_WINDOW = timedelta(days=62)


def selected_names(nodes: Iterable[Any], fragments: Mapping[str, FragmentDefinitionNode],
                   path: tuple[str, ...]) -> set[str]:
    """The field names selected at `path` below these selections of the document, fragments
    included. Read from the document itself: Strawberry's `info.selected_fields` converts
    the whole selection tree first (a few percent of a list request in the profile)."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, FieldNode):
            if not path:
                names.add(node.name.value)
            elif node.name.value == path[0] and node.selection_set is not None:
                names |= selected_names(node.selection_set.selections, fragments, path[1:])
        elif isinstance(node, InlineFragmentNode):
            names |= selected_names(node.selection_set.selections, fragments, path)
        elif isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                names |= selected_names(fragment.selection_set.selections, fragments, path)
    return names


async def _node(info: Info, kind: str, pk: int) -> t.Node | None:
    viewer = access.require_viewer(info.context)
    if kind == "Meeting":
        return await t.visible_meeting(info, pk)
    if kind == "Account":
        account = await info.context.loaders.account.load(pk)
        return t.Account.of(account) if account else None
    if kind == "ExpertService":
        service = await info.context.loaders.service.load(pk)
        return t.ExpertService.of(service) if service else None
    if kind == "CreditEntry":
        entry = await access.own_ledger_entry(viewer, pk)
        return t.CreditEntry.of(entry) if entry else None
    if kind == "Notification":
        note = await access.own_notification(viewer, pk)
        return t.Notification.of(note) if note else None
    if kind == "Conversation":
        conversation = await access.visible_conversation(viewer, pk)
        return t.Conversation.of(conversation) if conversation else None
    if kind == "BusyCalendar":
        calendar = await access.own_busy_calendar(viewer, pk)
        return t.BusyCalendar.of(calendar) if calendar else None
    if kind == "Message":
        message = await access.visible_message(viewer, pk)
        return t.Message.of(message) if message else None
    return None


@strawberry.type
class Query:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> t.Node | None:
        access.require_viewer(info.context)
        parsed = parse_global_id(id)
        return await _node(info, *parsed) if parsed else None

    @strawberry.field
    def viewer(self, info: Info) -> t.Viewer:
        return t.Viewer(row=access.require_viewer(info.context))

    @strawberry.field
    async def account(self, info: Info, id: strawberry.ID) -> t.Account | None:
        access.require_viewer(info.context)
        pk = from_global_id(id, "Account")
        row = await info.context.loaders.account.load(pk) if pk else None
        return t.Account.of(row) if row else None

    @strawberry.field(description=(
        "Experts who offer at least one active service, by name: where a user starts booking."))
    async def experts(self, info: Info, first: int | None = 20) -> list[t.Account]:
        from resolvers.pagination import page_size

        access.require_viewer(info.context)
        return [t.Account.of(row) for row in await queries.experts(page_size(first))]

    @strawberry.field
    async def meeting(self, info: Info, id: strawberry.ID) -> t.Meeting | None:
        access.require_viewer(info.context)
        return await t.visible_meeting(info, from_global_id(id, "Meeting"))

    @strawberry.field(description=(
        "The viewer's meetings, soonest first. role EXPERT + upcoming: the meetings the viewer "
        "is assigned to as expert that have not yet taken place."))
    async def meetings(
        self,
        info: Info,
        role: enums.MeetingRole | None = MeetingRole.ANY,
        upcoming: bool | None = None,
        status: list[enums.MeetingStatus] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> t.MeetingConnection:
        viewer = access.require_viewer(info.context)
        statuses = [DomainStatus(s) for s in status] if status else None
        return t.MeetingConnection.of(await queries.meeting_page(
            viewer.id, MeetingRole(role or MeetingRole.ANY), upcoming, statuses, first,
            after, loaders=info.context.loaders,
            node_fields=selected_names(info._raw_info.field_nodes, info._raw_info.fragments,
                                       ("meetings", "edges", "node"))))

    @strawberry.field
    async def expert_free_slots(
        self,
        info: Info,
        expert_id: strawberry.ID,
        from_: Annotated[DateTime, strawberry.argument(name="from")],
        to: DateTime,
        length_minutes: int,
    ) -> list[t.TimeSlot]:
        access.require_viewer(info.context)
        if length_minutes <= 0 or length_minutes > 24 * 60:
            raise PublicError(ErrorCode.INVALID_INPUT, "lengthMinutes must be between 1 and 1440.")
        if to <= from_ or to - from_ > MAX_SLOT_WINDOW:
            raise PublicError(ErrorCode.INVALID_INPUT,
                              "`to` must be after `from`, at most 62 days later.")
        pk = from_global_id(expert_id, "Account")
        if pk is None:
            return []
        free = await free_time(pk, from_, to)
        return [t.TimeSlot(starts_at=s, ends_at=e)
                for s, e in freetime.slots(free, length_minutes, from_, to, clock.now())]

    @strawberry.field
    async def reasons(self, info: Info, kind: enums.ReasonKind) -> list[t.Reason]:
        access.require_viewer(info.context)
        rows = await mm.Reason.filter(kind=kind).order_by("position", "id")
        return [t.Reason.of(r) for r in rows]

    @strawberry.field
    async def notifications(self, info: Info, unread_only: bool | None = False,
                            first: int | None = 20,
                            after: str | None = None) -> t.NotificationConnection:
        viewer = access.require_viewer(info.context)
        page, unread = await queries.notification_page(viewer.id, bool(unread_only), first,
                                                       after)
        return t.NotificationConnection.of(page, unread)

    @strawberry.field
    async def conversation(self, info: Info, id: strawberry.ID) -> t.Conversation | None:
        viewer = access.require_viewer(info.context)
        row = await access.visible_conversation(viewer, from_global_id(id, "Conversation"))
        return t.Conversation.of(row) if row else None

    @strawberry.field
    async def conversations(self, info: Info, first: int | None = 20) -> list[t.Conversation]:
        viewer = access.require_viewer(info.context)
        return [t.Conversation.of(r) for r in await queries.conversations_of(viewer.id, first)]
