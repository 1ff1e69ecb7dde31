"""One function per meeting mutation: authenticate → load + lock → rules → write → outbox.

The functions take plain values (not GraphQL inputs) so that the CLI, workers and tests can
call them too; `schema/mutation.py` maps their DomainErrors to payload errors.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet, ValuesListQuery
from tortoise.transactions import in_transaction

from core import clock
from core.errors import ErrorCode
from core.settings import get_settings
from models import lifecycle
from models.accounts import Account, ExpertService, Skill
from models.chat import Message
from models.enums import (
    CreditPaymentStatus,
    MeetingAction,
    MeetingStatus,
    MessageKind,
    OutboxKind,
    Party,
    ReasonKind,
)
from models.errors import DomainError
from models.lifecycle import Alternative, Creation, Rule, state_of
from models.meetings import Meeting
from resolvers import access
from resolvers.availability_check import is_free
from resolvers.busy_calendars import busy_overlapping_query, calendar_names
from resolvers.chat import conversation_between
from resolvers.effects import apply_rule
from resolvers.outbox import record
from resolvers.prepared import PreparedQuery, Read


@dataclass
class Outcome:
    meeting: Meeting
    conflicts: list[Meeting] = field(default_factory=list)
    busy_calendars: list[str] = field(default_factory=list)  # the expert's, for the expert


def _not_found(what: str = "Meeting", field_name: str = "meetingId") -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} not found.", field_name)


def check_future(starts_at: datetime, now: datetime, field_name: str = "startsAt") -> None:
    if starts_at <= now:
        raise DomainError(ErrorCode.DATE_IN_PAST, "The date must be in the future.", field_name)


async def agreed_overlapping(
    account_id: int, start: datetime, end: datetime, exclude_id: int | None
) -> list[Meeting]:
    return await _agreed_overlapping(account_id, start, end, exclude_id)


def _agreed_overlapping(
    account_id: int, start: datetime, end: datetime, exclude_id: int | None
) -> QuerySet[Meeting]:
    query = Meeting.filter(
        Q(user_id=account_id) | Q(expert_id=account_id),
        status=MeetingStatus.AGREED,
        starts_at__lt=end,
        ends_at__gt=start,
    )
    if exclude_id is not None:
        query = query.exclude(id=exclude_id)
    return query.order_by("starts_at", "id")


def _agreed_ids(account_id: int, start: datetime, end: datetime,
                exclude_id: int) -> ValuesListQuery[Any]:
    return _agreed_overlapping(account_id, start, end, exclude_id).values_list("id", flat=True)


# Asked with a change's writes (record_change); built once (resolvers/prepared.py).
_AGREED_IDS = PreparedQuery(_agreed_ids, account_id=int, start=datetime, end=datetime,
                            exclude_id=int)
_BUSY_NAMES = PreparedQuery(busy_overlapping_query, expert_id=int, start=datetime,
                            end=datetime)


def _reason(rule: Rule, code: str | None, found: Mapping[ReasonKind, int]) -> int | None:
    """The id of the reason `code` of the rule's kind, among those `found` with the meeting
    (access.meeting_for_update)."""
    if rule.reason is None or (code is None and not rule.reason_required):
        return None
    reason = found.get(rule.reason) if code else None
    if reason is None:
        kind = "rejection" if rule.reason is ReasonKind.REJECTION else "cancellation"
        raise DomainError(
            ErrorCode.INVALID_REASON, f"Choose a reason from the {kind} list.", "reasonCode"
        )
    return reason


async def act(
    account: Account,
    action: MeetingAction,
    meeting_id: int | None,
    *,
    expected_version: int | None = None,
    reason_code: str | None = None,
    note: str | None = None,
    acknowledge_late: bool = False,
    new_starts_at: datetime | None = None,
) -> Outcome:
    """Every participant action on an existing meeting (A2, A3, A5–A10 and their ′ rows)."""
    settings = get_settings()
    async with in_transaction():
        now = clock.now()
        meeting, party, reasons = await access.meeting_for_update(account, meeting_id,
                                                                  reason_code=reason_code)
        if expected_version is not None and expected_version != meeting.version:
            raise DomainError(
                ErrorCode.STALE_VERSION,
                f"The meeting changed (version {meeting.version}, expected {expected_version}).",
                "expectedVersion",
            )
        if lifecycle.has_started(meeting.starts_at, now):
            raise DomainError(ErrorCode.MEETING_ALREADY_STARTED, "The meeting has started.")
        rule = lifecycle.decide(action, party, state_of(meeting))
        reason_id = _reason(rule, reason_code, reasons)
        late = lifecycle.is_late(meeting.starts_at, now, settings.late_cancellation_hours)
        if rule.late_acknowledgement and late and not acknowledge_late:
            raise DomainError(
                ErrorCode.LATE_CANCELLATION_NOT_ACKNOWLEDGED,
                f"The meeting starts within {settings.late_cancellation_hours} hours: confirm "
                "the late cancellation with acknowledgeLateCancellation: true.",
                "acknowledgeLateCancellation",
            )
        if rule.alternative in (Alternative.PROPOSE, Alternative.REPLACE_DATE):
            assert new_starts_at is not None
            check_future(new_starts_at, now)
            if rule.date_in_availability and not await is_free(
                meeting.expert_id, new_starts_at, meeting.length_minutes, meeting.id
            ):
                raise DomainError(
                    ErrorCode.OUTSIDE_AVAILABILITY,
                    "The new date is outside the expert's free dates.",
                    "startsAt",
                )

        def warnings_of(changed: Meeting) -> list[Read]:
            """Asked with the change's writes: the ids of the viewer's agreed meetings it
            overlaps, and (only the expert learns the names of their own calendars) the
            expert's calendars busy meanwhile."""
            if not rule.warn_conflicts:
                return []
            span = {"start": changed.starts_at, "end": changed.ends_at}
            reads: list[Read] = [(_AGREED_IDS, {"account_id": account.id,
                                                "exclude_id": changed.id, **span})]
            if party is Party.EXPERT:
                reads.append((_BUSY_NAMES, {"expert_id": account.id, **span}))
            return reads

        found = await apply_rule(meeting, rule, party, new_date=new_starts_at,
                                 reason_id=reason_id, note=note, late=late, reads=warnings_of)
        # Rarely any: then the meetings themselves, as the ids were found.
        conflicts = (await agreed_overlapping(account.id, meeting.starts_at, meeting.ends_at,
                                              meeting.id) if found and found[0] else [])
        busy = calendar_names(found[1]) if len(found) > 1 else []
    return Outcome(meeting, conflicts, busy)


async def _service_and_skill(
    service_id: int | None, skill_id: int | None, *, expert_id: int | None = None
) -> tuple[ExpertService, Skill]:
    service = await ExpertService.get_or_none(id=service_id) if service_id else None
    if service is None or (expert_id is not None and service.expert_id != expert_id):
        raise _not_found("Service", "serviceId")
    if not service.active:
        raise DomainError(ErrorCode.INVALID_INPUT, "This service is not active.", "serviceId")
    skill = await service.skills.filter(id=skill_id).first() if skill_id else None
    if skill is None:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "The skill is not one of the service's skills.", "skillId"
        )
    return service, skill


async def request_meeting(
    account: Account, service_id: int | None, skill_id: int | None, starts_at: datetime
) -> Outcome:
    """A1: a user asks an expert for a meeting."""
    rule = lifecycle.creation_rule(Creation.REQUEST)
    async with in_transaction():
        now = clock.now()
        service, skill = await _service_and_skill(service_id, skill_id)
        if service.expert_id == account.id:
            raise DomainError(ErrorCode.SELF_BOOKING, "You cannot book yourself.", "serviceId")
        check_future(starts_at, now)
        if not await is_free(service.expert_id, starts_at, service.length_minutes):
            raise DomainError(
                ErrorCode.OUTSIDE_AVAILABILITY,
                "The slot is outside the expert's free dates.",
                "startsAt",
            )
        meeting = await _create(account.id, service.expert_id, service, skill, starts_at,
                                service.length_minutes, service.price_credits, Party.USER, now)
        await apply_rule(meeting, rule, Party.USER)
    return Outcome(meeting)


async def _create(user_id: int, expert_id: int, service: ExpertService, skill: Skill,
                  starts_at: datetime, length: int, price: int, by: Party,
                  now: datetime) -> Meeting:
    # Created neutral; apply_rule then gives it the rule's state, credits and events.
    return await Meeting.create(
        user_id=user_id, expert_id=expert_id, service=service, skill=skill,
        starts_at=starts_at, ends_at=starts_at + timedelta(minutes=length),
        length_minutes=length, price_credits=price, status=MeetingStatus.AWAITING_APPROVAL,
        created_by=by, credit_status=CreditPaymentStatus.NONE, version=0,
        created_at=now, updated_at=now,
    )


async def propose_meeting(
    account: Account,
    *,
    user_id: int | None,
    from_meeting_id: int | None,
    conversation_id: int | None,
    service_id: int | None,
    skill_id: int | None,
    starts_at: datetime,
    length_minutes: int,
    price_credits: int,
) -> Outcome:
    """A4: an expert proposes a meeting to another account, from a meeting or a chat."""
    rule = lifecycle.creation_rule(Creation.PROPOSE)
    async with in_transaction():
        now = clock.now()
        invitees: set[int] = set()
        if user_id is not None:
            invitees.add(user_id)
        if from_meeting_id is not None:
            source = await access.participant_meeting(account, from_meeting_id, "fromMeetingId")
            invitees.add(source.user_id if source.expert_id == account.id else source.expert_id)
        if conversation_id is not None:
            conversation = await access.participant_conversation(account, conversation_id)
            low, high = conversation.participant_ids
            invitees.add(high if low == account.id else low)
        if len(invitees) != 1:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                "Name exactly one invitee: userId, fromMeetingId and conversationId must agree.",
                "userId",
            )
        invitee_id = invitees.pop()
        if invitee_id == account.id:
            raise DomainError(ErrorCode.SELF_BOOKING, "You cannot book yourself.", "userId")
        if not await Account.filter(id=invitee_id).exists():
            raise _not_found("Account", "userId")
        service, skill = await _service_and_skill(service_id, skill_id, expert_id=account.id)
        if not 0 < length_minutes <= 24 * 60:  # as a service's length; no end past year 9999
            raise DomainError(ErrorCode.INVALID_INPUT, "The length is 1 to 1440 minutes.",
                              "lengthMinutes")
        if price_credits <= 0:
            raise DomainError(ErrorCode.INVALID_INPUT, "The price must be positive.",
                              "priceCredits")
        check_future(starts_at, now)
        meeting = await _create(invitee_id, account.id, service, skill, starts_at,
                                length_minutes, price_credits, Party.EXPERT, now)
        await apply_rule(meeting, rule, Party.EXPERT)
        # The proposal is posted in the pair's chat (created when the pair has none yet).
        conversation = await conversation_between(account.id, invitee_id)
        message = await Message.create(
            conversation=conversation, author_id=account.id, kind=MessageKind.MEETING_PROPOSAL,
            body=f"Meeting proposal: {service.title}, {length_minutes} min, "
                 f"{price_credits} credits.",
            meeting=meeting, created_at=now,
        )
        conversation.last_message_at = now
        await conversation.save(update_fields=["last_message_at"])
        await record(OutboxKind.MESSAGE_ADDED,
                     {"message_id": message.id, "conversation_id": conversation.id})
    return Outcome(meeting)
