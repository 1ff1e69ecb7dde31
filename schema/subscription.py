"""The Subscription root (SPEC §8). Each generator authenticates, checks that the viewer may
see the topic, then yields fresh objects for every event of its channel.

They survive and catch up (docs/live-updates.md): an optional `after` position replays
what the client missed (`subscriptions.replay`), a queue overflow is replayed the same way
(or, for meetingChanged when that is impossible, flagged `resync`), and a database outage
while loading an event is waited out with backoff instead of ending the subscription."""

import asyncio
import functools
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

import strawberry
from tortoise.expressions import Q

from core.errors import ErrorCode, PublicError
from core.settings import get_settings
from core.transient import retry_transient
from models import chat as cm
from models import meetings as mm
from resolvers import access
from resolvers.loaders import Loaders
from resolvers.pagination import meeting_cursor
from schema import types as t
from schema.scalars import from_global_id
from schema.types import Info
from subscriptions import carried, channels
from subscriptions import replay as replay_from
from subscriptions.bus import LOST, get_bus


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
    position: str = strawberry.field(default="", description=(
        "This event's position in the stream: pass the last one you saw as `after` when you "
        "subscribe again, and the events you missed are replayed first (an event may then "
        "come twice: ignore a position you have seen)."))
    resync: bool = strawberry.field(default=False, description=(
        "True when events before this one could not be delivered or replayed (too many, or "
        "`after` too old): refetch what you display. `meeting` is its current state."))
    # (event, viewer, resync): every local subscriber with this key, the same selection and
    # the same variables gets one execution of it (schema/executor.py, shared_events).
    share_key: strawberry.Private[tuple[int, int, bool] | None] = None


class _Snapshots:
    """The rows behind one published event, loaded once per process however many local
    subscribers receive it (fan-out: one query pair per event, not per subscriber)."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self.loading: OrderedDict[int, asyncio.Future[Any]] = OrderedDict()

    async def get(self, event_id: int, load: Callable[[], Awaitable[Any]]) -> Any:
        future = self.loading.get(event_id)
        if future is not None and future.done() and future.exception() is not None:
            future = None  # a load that failed (an outage) is tried again, not remembered
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


def _position(value: str | None, field: str = "after") -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise PublicError(ErrorCode.INVALID_INPUT,
                          f"`{field}` must be a position this API sent (MeetingChange.position).")
    return number


def _changes_window() -> timedelta:
    return timedelta(hours=get_settings().live_replay_hours)


async def _latest_meeting(channel_meeting: int | None, account_id: int) -> mm.Meeting | None:
    if channel_meeting is not None:
        return await mm.Meeting.get_or_none(id=channel_meeting)
    return await mm.Meeting.filter(
        Q(user_id=account_id) | Q(expert_id=account_id)).order_by("-updated_at").first()


def _fresh(info: Info) -> None:
    # A WebSocket context lives as long as the connection: without fresh loaders every
    # event would be answered from the first one's cache.
    info.context.loaders = Loaders(access.require_viewer(info.context).id)


@strawberry.type
class Subscription:
    @strawberry.subscription(description=(
        "One meeting's changes, or every meeting of the viewer's when meetingId is omitted."))
    async def meeting_changed(
            self, info: Info, meeting_id: strawberry.ID | None = None,
            after: Annotated[str | None, strawberry.argument(description=(
                "The last `position` you received: the changes since are replayed first."))] = None,
    ) -> AsyncGenerator[MeetingChange, None]:
        viewer = access.require_viewer(info.context)
        if meeting_id is not None:
            pk = from_global_id(meeting_id, "Meeting")
            row = await retry_transient(lambda: access.participant_meeting(viewer, pk),
                                        what="checking a subscription")
            channel = channels.meeting(row.id)
        else:
            channel = channels.account_meetings(viewer.id)
        start = _position(after)
        meeting_pk = int(channel.split(":")[1]) if meeting_id is not None else None

        def change(meeting: mm.Meeting, cause: mm.TimelineEvent | None, position: int,
                   resync: bool = False) -> MeetingChange:
            _fresh(info)
            return MeetingChange(meeting=t.Meeting.of(meeting),
                                 event=t.TimelineEvent.of(cause) if cause else None,
                                 cursor=meeting_cursor(meeting), viewer=t.Viewer(row=viewer),
                                 position=str(position), resync=resync,
                                 share_key=(position, viewer.id, resync))

        async def replay(position: int) -> AsyncGenerator[MeetingChange, None]:
            missed = await retry_transient(
                lambda: replay_from.meeting_changes_after(position, channel,
                                                          _changes_window()),
                what="replaying meeting changes")
            if not missed.complete:
                latest = await retry_transient(
                    lambda: _latest_meeting(meeting_pk, viewer.id), what="resync")
                if latest is not None:
                    yield change(latest, None, position, resync=True)
            for event in missed.events:
                if event["id"] in sent:
                    continue
                meeting, cause = await retry_transient(
                    functools.partial(_meeting_change, event), what="loading a meeting change")
                if meeting is not None:
                    sent.add(event["id"])
                    yield change(meeting, cause, event["id"])

        sent: set[int] = set()  # positions sent since subscribing (replay and live overlap)
        last = start
        async with get_bus().subscribe(channel) as events:
            # Subscribed first, replayed second: nothing falls between the two.
            if start is not None:
                async for item in replay(start):
                    last = max(last or 0, int(item.position))
                    yield item
            async for event in events:
                if event.get(LOST) and last is not None:
                    async for item in replay(last):  # overflowed: replay what was dropped
                        yield item
                elif event.get(LOST):
                    latest = await retry_transient(
                        lambda: _latest_meeting(meeting_pk, viewer.id), what="resync")
                    if latest is not None:
                        yield change(latest, None, event["id"], resync=True)
                if event["id"] in sent:
                    continue
                meeting, cause = await retry_transient(
                    functools.partial(_meeting_change, event), what="loading a meeting change")
                if meeting is None:
                    continue
                sent.add(event["id"])
                last = event["id"] if last is None else max(last, event["id"])
                yield change(meeting, cause, event["id"])

    @strawberry.subscription
    async def notification_received(
            self, info: Info,
            after: Annotated[strawberry.ID | None, strawberry.argument(description=(
                "The id of the last notification you received: the ones since are sent "
                "first."))] = None,
    ) -> AsyncGenerator[t.Notification, None]:
        viewer = access.require_viewer(info.context)
        last = from_global_id(after, "Notification") if after is not None else None
        if after is not None and last is None:
            raise PublicError(ErrorCode.INVALID_INPUT, "`after` must be a Notification id.")
        sent: set[int] = set()

        async def since(position: int) -> list[Any]:
            return await retry_transient(
                lambda: replay_from.notifications_after(position, viewer.id),
                what="replaying notifications")

        async with get_bus().subscribe(channels.account_notifications(viewer.id)) as events:
            if last is not None:
                for row in await since(last):
                    sent.add(row.id)
                    last = max(last, row.id)
                    _fresh(info)
                    yield t.Notification.of(row)
            async for event in events:
                rows = []
                if event.get(LOST) and last is not None:
                    rows = await since(last)  # overflowed: the table has what was dropped
                row_carried = carried.notification_of(event)
                one = access.own_carried_notification(viewer, row_carried) \
                    if row_carried is not None else await retry_transient(
                        functools.partial(access.own_notification, viewer,
                                          event["notification_id"]),
                        what="loading a notification")
                for row in [*rows, *([one] if one is not None else [])]:
                    if row.id in sent:
                        continue
                    sent.add(row.id)
                    last = row.id if last is None else max(last, row.id)
                    _fresh(info)
                    yield t.Notification.of(row)

    @strawberry.subscription
    async def message_added(
            self, info: Info, conversation_id: strawberry.ID,
            after: Annotated[strawberry.ID | None, strawberry.argument(description=(
                "The id of the last message you received: the ones since are sent first."))] = None,
    ) -> AsyncGenerator[t.Message, None]:
        viewer = access.require_viewer(info.context)
        pk = from_global_id(conversation_id, "Conversation")
        conversation = await retry_transient(
            lambda: access.participant_conversation(viewer, pk), what="checking a subscription")
        last = from_global_id(after, "Message") if after is not None else None
        if after is not None and last is None:
            raise PublicError(ErrorCode.INVALID_INPUT, "`after` must be a Message id.")
        sent: set[int] = set()

        async def since(position: int) -> list[Any]:
            return await retry_transient(
                lambda: replay_from.messages_after(position, conversation.id),
                what="replaying messages")

        async with get_bus().subscribe(channels.conversation(conversation.id)) as events:
            if last is not None:
                for row in await since(last):
                    sent.add(row.id)
                    last = max(last, row.id)
                    _fresh(info)
                    yield t.Message.of(row)
            async for event in events:
                rows = []
                if event.get(LOST) and last is not None:
                    rows = await since(last)
                one = await retry_transient(
                    functools.partial(cm.Message.get_or_none, id=event["message_id"]),
                    what="loading a message")
                for row in [*rows, *([one] if one is not None else [])]:
                    if row.id in sent:
                        continue
                    sent.add(row.id)
                    last = row.id if last is None else max(last, row.id)
                    _fresh(info)
                    yield t.Message.of(row)
