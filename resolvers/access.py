"""Who may see what (SPEC §9): the one module that decides it.

Every query, node lookup, subscription and mutation starts with `require_viewer`, and reads a
private object only through the functions below. A private object the viewer may not see is
answered exactly as one that does not exist (null, or NOT_FOUND), so that ids cannot be
probed. Private: meetings (and their timeline), conversations, messages, notifications,
credit entries, calendar feeds and busy calendars. Public to any signed-in account:
accounts, expert profiles, services, skills, reasons and free slots.
"""

from typing import cast

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from core.errors import ErrorCode, PublicError
from models.accounts import Account
from models.calendars import BusyCalendar
from models.chat import Conversation, Message
from models.enums import Party, ReasonKind
from models.errors import DomainError
from models.ledger import CreditEntry
from models.meetings import Meeting, Reason
from models.notifications import Notification
from models.rows import MeetingRow
from resolvers.context import Context
from resolvers.prepared import PreparedQuery


def require_viewer(context: Context) -> Account:
    """The signed-in account, or UNAUTHENTICATED (with the reason the token was refused)."""
    if context.account is None:
        raise PublicError(ErrorCode.UNAUTHENTICATED,
                          context.auth_error or "Authentication required.")
    return context.account


def require_admin(viewer: Account) -> None:
    if not viewer.is_admin:
        raise DomainError(ErrorCode.FORBIDDEN, "Only an admin may grant credits.")


def party_in(meeting: Meeting | MeetingRow, viewer: Account) -> Party | None:
    """The viewer's side in the meeting; None for anyone else."""
    return meeting.party_of(viewer.id)


def in_conversation(conversation: Conversation, viewer: Account) -> bool:
    return viewer.id in conversation.participant_ids


async def visible_meeting(viewer: Account, meeting_id: int | None,
                          context: Context | None = None) -> Meeting | None:
    """Through the request's DataLoader when a context is given (lists of nodes)."""
    if meeting_id is None:
        return None
    if context is not None:
        meeting = await context.loaders.meeting.load(meeting_id)
    else:
        meeting = await Meeting.get_or_none(id=meeting_id)
    return meeting if meeting is not None and party_in(meeting, viewer) else None


async def visible_conversation(viewer: Account,
                               conversation_id: int | None) -> Conversation | None:
    conversation = (
        await Conversation.get_or_none(id=conversation_id) if conversation_id else None
    )
    if conversation is None or not in_conversation(conversation, viewer):
        return None
    return conversation


async def visible_message(viewer: Account, message_id: int | None) -> Message | None:
    message = (await Message.get_or_none(id=message_id).select_related("conversation")
               if message_id else None)
    if message is None or not in_conversation(message.conversation, viewer):
        return None
    return message


async def own_notification(viewer: Account, notification_id: int | None) -> Notification | None:
    if notification_id is None:
        return None
    return await Notification.get_or_none(id=notification_id, recipient_id=viewer.id)


def own_carried_notification(viewer: Account, row: Notification) -> Notification | None:
    """A notification a live event carried (not read from the table), under the same rule
    as `own_notification`: the viewer's own only."""
    return row if row.recipient_id == viewer.id else None


async def own_notification_ids(viewer: Account, ids: list[int]) -> set[int]:
    """Those of `ids` that are the viewer's own notifications."""
    rows = await Notification.filter(recipient_id=viewer.id, id__in=ids).values_list(
        "id", flat=True)
    return set(cast(list[int], rows))


async def own_notifications(viewer: Account, ids: list[int]) -> list[Notification]:
    """The viewer's own notifications among `ids`, in the order given."""
    rows = {n.id: n for n in await Notification.filter(recipient_id=viewer.id, id__in=ids)}
    return [rows[i] for i in ids if i in rows]


async def own_busy_calendar(viewer: Account, calendar_id: int | None) -> BusyCalendar | None:
    """An expert's own calendars (their URLs may hold secrets) are theirs alone."""
    if calendar_id is None:
        return None
    return await BusyCalendar.get_or_none(id=calendar_id, expert_id=viewer.id)


async def own_ledger_entry(viewer: Account, entry_id: int | None) -> CreditEntry | None:
    if entry_id is None:
        return None
    return await CreditEntry.get_or_none(id=entry_id, account_id=viewer.id)


def meeting_not_found(field: str = "meetingId") -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, "Meeting not found.", field)


def conversation_not_found(field: str = "conversationId") -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, "Conversation not found.", field)


async def meeting_for_update(viewer: Account, meeting_id: int | None, *,
                             reason_code: str | None = None
                             ) -> tuple[Meeting, Party, dict[ReasonKind, int]]:
    """The meeting, locked for the caller's transaction, and the viewer's side in it; for
    anyone but its two parties NOT_FOUND. In the same statement: its two parties' accounts
    (not locked), for the notifications an action sends, and the id of the reason
    `reason_code` of each kind that has one (the action's rule decides which is asked)."""
    if not meeting_id:
        raise meeting_not_found()
    meeting = await (_LOCKED.first(Meeting, meeting_id=meeting_id) if reason_code is None else
                     _LOCKED_WITH_REASONS.first(Meeting, meeting_id=meeting_id,
                                                reason_code=reason_code))
    party = party_in(meeting, viewer) if meeting is not None else None
    if meeting is None or party is None:
        raise meeting_not_found()
    found = {kind: getattr(meeting, _reason_column(kind), None) for kind in ReasonKind}
    return meeting, party, {kind: pk for kind, pk in found.items() if pk is not None}


def _reason_column(kind: ReasonKind) -> str:
    return f"found_{kind.value.lower()}_reason_id"


def _locked(meeting_id: int) -> QuerySet[Meeting]:
    return Meeting.select_for_update(of=("meeting",)).select_related(
        "user", "expert").filter(id=meeting_id)


def _locked_with_reasons(meeting_id: int, reason_code: str) -> QuerySet[Meeting]:
    return _locked(meeting_id).annotate(**{
        _reason_column(kind): Subquery(Reason.filter(kind=kind, code=reason_code).values("id"))
        for kind in ReasonKind})


_LOCKED = PreparedQuery(_locked, meeting_id=int)
_LOCKED_WITH_REASONS = PreparedQuery(_locked_with_reasons, meeting_id=int, reason_code=str)


async def participant_meeting(viewer: Account, meeting_id: int | None,
                              field: str = "meetingId") -> Meeting:
    meeting = await visible_meeting(viewer, meeting_id)
    if meeting is None:
        raise meeting_not_found(field)
    return meeting


async def participant_conversation(viewer: Account, conversation_id: int | None,
                                   field: str = "conversationId") -> Conversation:
    conversation = await visible_conversation(viewer, conversation_id)
    if conversation is None:
        raise conversation_not_found(field)
    return conversation
