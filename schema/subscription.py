"""The Subscription root (SPEC §8). Each generator authenticates, checks that the viewer may
see the topic, then yields fresh objects for every event of its channel."""

from collections.abc import AsyncGenerator

import strawberry

from models import chat as cm
from models import meetings as mm
from models import notifications as nm
from resolvers import queries
from resolvers.loaders import Loaders
from schema import types as t
from schema.errors import PublicError
from schema.scalars import from_global_id
from schema.types import Info
from subscriptions import channels
from subscriptions.bus import get_bus


@strawberry.type
class MeetingChange:
    meeting: t.Meeting
    event: t.TimelineEvent | None = strawberry.field(
        description="The timeline event that caused this change, when there is one.")


def _fresh(info: Info) -> None:
    # A WebSocket context lives as long as the connection: without fresh loaders every
    # event would be answered from the first one's cache.
    info.context.loaders = Loaders(info.context.viewer.id)


@strawberry.type
class Subscription:
    @strawberry.subscription(description=(
        "One meeting's changes, or every meeting of the viewer's when meetingId is omitted."))
    async def meeting_changed(self, info: Info, meeting_id: strawberry.ID | None = None
                              ) -> AsyncGenerator[MeetingChange, None]:
        viewer = info.context.viewer
        if meeting_id is not None:
            pk = from_global_id(meeting_id, "Meeting")
            row = await mm.Meeting.get_or_none(id=pk) if pk else None
            if row is None or row.party_of(viewer.id) is None:
                raise PublicError("Meeting not found.", "NOT_FOUND")
            channel = channels.meeting(row.id)
        else:
            channel = channels.account_meetings(viewer.id)
        async with get_bus().subscribe(channel) as events:
            async for event in events:
                meeting = await mm.Meeting.get_or_none(id=event["meeting_id"])
                if meeting is None:
                    continue
                _fresh(info)
                cause = (await mm.TimelineEvent.get_or_none(id=event["event_id"])
                         if event.get("event_id") else None)
                yield MeetingChange(meeting=t.Meeting.of(meeting),
                                    event=t.TimelineEvent.of(cause) if cause else None)

    @strawberry.subscription
    async def notification_received(self, info: Info) -> AsyncGenerator[t.Notification, None]:
        viewer = info.context.viewer
        async with get_bus().subscribe(channels.account_notifications(viewer.id)) as events:
            async for event in events:
                row = await nm.Notification.get_or_none(id=event["notification_id"],
                                                        recipient_id=viewer.id)
                if row is not None:
                    _fresh(info)
                    yield queries.notification(row)

    @strawberry.subscription
    async def message_added(self, info: Info, conversation_id: strawberry.ID
                            ) -> AsyncGenerator[t.Message, None]:
        viewer = info.context.viewer
        pk = from_global_id(conversation_id, "Conversation")
        conversation = await cm.Conversation.get_or_none(id=pk) if pk else None
        if conversation is None or viewer.id not in conversation.participant_ids:
            raise PublicError("Conversation not found.", "NOT_FOUND")
        async with get_bus().subscribe(channels.conversation(conversation.id)) as events:
            async for event in events:
                row = await cm.Message.get_or_none(id=event["message_id"])
                if row is not None:
                    _fresh(info)
                    yield t.Message.of(row)
