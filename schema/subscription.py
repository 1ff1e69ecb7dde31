"""The Subscription root (SPEC §8). Each generator authenticates, checks that the viewer may
see the topic, then yields fresh objects for every event of its channel."""

import asyncio
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import strawberry

from models import chat as cm
from models import meetings as mm
from resolvers import access
from resolvers.loaders import Loaders
from resolvers.pagination import meeting_cursor
from schema import types as t
from schema.scalars import from_global_id
from schema.types import Info
from subscriptions import channels
from subscriptions.bus import get_bus


@strawberry.type
class MeetingChange:
    meeting: t.Meeting
    event: t.TimelineEvent | None = strawberry.field(
        description="The timeline event that caused this change, when there is one.")
    cursor: str = strawberry.field(description=(
        "The meeting's cursor in `meetings` lists (they sort by startsAt): a client places a "
        "new or moved meeting into a cached page without refetching it."))
    viewer: t.Viewer = strawberry.field(description=(
        "The subscriber after this change (e.g. `credits`, blocked or returned by it)."))


class _Snapshots:
    """The rows behind one published event, loaded once per process however many local
    subscribers receive it (fan-out: one query pair per event, not per subscriber)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.loading: OrderedDict[int, asyncio.Future[Any]] = OrderedDict()

    async def get(self, event_id: int, load: Callable[[], Awaitable[Any]]) -> Any:
        future = self.loading.get(event_id)
        if future is None:
            future = asyncio.ensure_future(load())
            self.loading[event_id] = future
            while len(self.loading) > self.size:
                self.loading.popitem(last=False)
        return await asyncio.shield(future)


_meeting_snapshots = _Snapshots()


async def _meeting_change(event: dict[str, Any]) -> tuple[mm.Meeting | None,
                                                          mm.TimelineEvent | None]:
    async def load() -> tuple[mm.Meeting | None, mm.TimelineEvent | None]:
        meeting = await mm.Meeting.get_or_none(id=event["meeting_id"])
        cause = (await mm.TimelineEvent.get_or_none(id=event["event_id"])
                 if event.get("event_id") else None)
        return meeting, cause

    return await _meeting_snapshots.get(int(event["id"]), load)


def _fresh(info: Info) -> None:
    # A WebSocket context lives as long as the connection: without fresh loaders every
    # event would be answered from the first one's cache.
    info.context.loaders = Loaders(access.require_viewer(info.context).id)


@strawberry.type
class Subscription:
    @strawberry.subscription(description=(
        "One meeting's changes, or every meeting of the viewer's when meetingId is omitted."))
    async def meeting_changed(self, info: Info, meeting_id: strawberry.ID | None = None
                              ) -> AsyncGenerator[MeetingChange, None]:
        viewer = access.require_viewer(info.context)
        if meeting_id is not None:
            row = await access.participant_meeting(viewer, from_global_id(meeting_id, "Meeting"))
            channel = channels.meeting(row.id)
        else:
            channel = channels.account_meetings(viewer.id)
        async with get_bus().subscribe(channel) as events:
            async for event in events:
                meeting, cause = await _meeting_change(event)
                if meeting is None:
                    continue
                _fresh(info)
                yield MeetingChange(meeting=t.Meeting.of(meeting),
                                    event=t.TimelineEvent.of(cause) if cause else None,
                                    cursor=meeting_cursor(meeting), viewer=t.Viewer(row=viewer))

    @strawberry.subscription
    async def notification_received(self, info: Info) -> AsyncGenerator[t.Notification, None]:
        viewer = access.require_viewer(info.context)
        async with get_bus().subscribe(channels.account_notifications(viewer.id)) as events:
            async for event in events:
                row = await access.own_notification(viewer, event["notification_id"])
                if row is not None:
                    _fresh(info)
                    yield t.Notification.of(row)

    @strawberry.subscription
    async def message_added(self, info: Info, conversation_id: strawberry.ID
                            ) -> AsyncGenerator[t.Message, None]:
        viewer = access.require_viewer(info.context)
        conversation = await access.participant_conversation(
            viewer, from_global_id(conversation_id, "Conversation"))
        async with get_bus().subscribe(channels.conversation(conversation.id)) as events:
            async for event in events:
                row = await cm.Message.get_or_none(id=event["message_id"])
                if row is not None:
                    _fresh(info)
                    yield t.Message.of(row)
