"""The meeting lifecycle of SPEC §3 and §4 as data: the one place where its rules live.

Each `Rule` is one row of the SPEC's table: who may act, in which state, and everything that
follows (new status, approvals, alternative date, credit movement, timeline events with their
labels, the notification and who gets it, the conference job and the reminder plan).
Participant actions (A1–A10′) and the system's own (S1–S6) are rows alike: resolvers look a
rule up with `decide` or `system_rule`, and `resolvers/effects.apply_rule` applies exactly what
it says. Pure: no I/O, no clock.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from core.errors import ErrorCode
from models.enums import (
    ConferenceStatus,
    CreditPaymentStatus,
    MeetingAction,
    MeetingStatus,
    NotificationKind,
    Party,
    ReasonKind,
    TimelineEventKind,
)
from models.errors import DomainError

if TYPE_CHECKING:
    from models.meetings import Meeting
    from models.rows import MeetingRow

AWAITING = MeetingStatus.AWAITING_APPROVAL
AGREED = MeetingStatus.AGREED
REJECTED = MeetingStatus.REJECTED
K = TimelineEventKind
N = NotificationKind


class Creation(StrEnum):
    REQUEST = "REQUEST"  # A1
    PROPOSE = "PROPOSE"  # A4


class SystemAction(StrEnum):
    COMPLETE = "COMPLETE"  # S1
    EXPIRE = "EXPIRE"  # S2
    SEND_REMINDER = "SEND_REMINDER"  # S3
    SEND_LINK = "SEND_LINK"  # S4
    CREATE_CONFERENCE = "CREATE_CONFERENCE"  # S5
    MOVE_CONFERENCE = "MOVE_CONFERENCE"  # S5, an agreed meeting's date changed
    FAIL_CONFERENCE = "FAIL_CONFERENCE"  # S5, the provider refused for good
    DELETE_CONFERENCE = "DELETE_CONFERENCE"  # S6


class Recipients(StrEnum):
    """Who gets a rule's notification."""

    OTHER = "OTHER"  # the acting party's counterpart
    BOTH = "BOTH"
    USER = "USER"
    EXPERT = "EXPERT"


class Alternative(StrEnum):
    KEEP = "KEEP"
    PROPOSE = "PROPOSE"  # the acting party's date becomes the pending alternative
    DROP = "DROP"
    APPLY = "APPLY"  # the pending alternative replaces startsAt
    REPLACE_DATE = "REPLACE_DATE"  # the given date replaces startsAt at once (A7 from REJECTED)


class CreditMove(StrEnum):
    BLOCK = "BLOCK"  # available → blocked, unless already blocked
    RETURN = "RETURN"  # blocked → available, when blocked
    CAPTURE = "CAPTURE"  # blocked → the expert's available
    LATE_POLICY = "LATE_POLICY"  # A6′: CAPTURE when late and the policy is `charge`, else RETURN


class ConferenceJob(StrEnum):
    CREATE_OR_MOVE = "CREATE_OR_MOVE"
    DELETE = "DELETE"


class ReminderPlan(StrEnum):
    PLAN = "PLAN"  # (re)plan from the current startsAt; unsent reminders of an old date go
    DROP = "DROP"


@dataclass(frozen=True)
class State:
    """What the rules look at; a projection of the meeting row."""

    status: MeetingStatus
    approved_by_user: bool
    approved_by_expert: bool
    alt_proposed_by: Party | None
    credit_status: CreditPaymentStatus
    conference: ConferenceStatus | None = None


def state_of(meeting: "Meeting | MeetingRow") -> State:
    return State(
        status=meeting.status,
        approved_by_user=meeting.approved_by_user,
        approved_by_expert=meeting.approved_by_expert,
        alt_proposed_by=meeting.alt_proposed_by,
        credit_status=meeting.credit_status,
        conference=meeting.conference_status,
    )


@dataclass(frozen=True)
class Event:
    kind: TimelineEventKind
    label: str


@dataclass(frozen=True)
class Rule:
    code: str
    action: MeetingAction | Creation | SystemAction
    party: Party | None  # None: the system
    when: Callable[[State], bool]
    status: MeetingStatus | None = None  # None: unchanged
    approved_by_user: bool | None = None
    approved_by_expert: bool | None = None
    alternative: Alternative = Alternative.KEEP
    credits: CreditMove | None = None
    events: tuple[Event, ...] = ()
    notify: NotificationKind | None = None
    recipients: Recipients = Recipients.OTHER
    reason: ReasonKind | None = None
    reason_required: bool = False
    late_acknowledgement: bool = False
    # The new date must lie in the expert's free dates (requests, the user's proposals).
    date_in_availability: bool = False
    refused_while_other_alternative: bool = False
    warn_conflicts: bool = False
    conference: ConferenceJob | None = None  # the job handed to the provider (S5, S6)
    conference_status: ConferenceStatus | None = None  # what the provider's answer makes it
    reminders: ReminderPlan | None = None


LABELS: dict[TimelineEventKind, str] = {
    K.REQUESTED_BY_USER: "Requested by User",
    K.APPROVED_BY_USER: "User Approval",
    K.REJECTED_BY_USER: "Rejected by User",
    K.CANCELLED_BY_USER: "Cancellation by User",
    K.ALTERNATIVE_DATE_SELECTED_BY_USER: "Alternative date selected by user",
    K.ALTERNATIVE_DATE_APPROVED_BY_USER: "Approval of alternative date by user",
    K.ALTERNATIVE_DATE_REJECTED_BY_USER: "User Rejection of Alternate Appointment",
    K.ALTERNATIVE_DATE_CANCELLED_BY_USER: "User Canceled Alternate Date",
    K.APPROVED_BY_EXPERT: "Expert Approval",
    K.REJECTED_BY_EXPERT: "Rejected by Expert",
    K.CANCELLED_BY_EXPERT: "Cancellation by Expert",
    K.ALTERNATIVE_DATE_SELECTED_BY_EXPERT: "Alternative date selected by expert",
    K.ALTERNATIVE_DATE_APPROVED_BY_EXPERT: "Approval of alternative date by expert",
    K.ALTERNATIVE_DATE_REJECTED_BY_EXPERT: "Expert Rejection of Alternate Appointment",
    K.ALTERNATIVE_DATE_CANCELLED_BY_EXPERT: "Expert Canceled Alternate Date",
    K.CONFERENCE_CREATED: "Conference created",
    K.CONFERENCE_FAILED: "Conference failed",
    K.CONFERENCE_CANCELLED: "Conference cancelled",
    K.REMINDER_SENT: "Meeting reminder sent",
    K.LINK_SENT: "Meeting link sent",
    K.COMPLETED: "Completed",
    K.EXPIRED: "Expired",
}


def ev(kind: TimelineEventKind, label: str | None = None) -> Event:
    return Event(kind, label or LABELS[kind])


def _awaiting_expert(s: State) -> bool:
    """A user's request the expert has not answered."""
    return s.status is AWAITING and not s.approved_by_expert


def _awaiting_user(s: State) -> bool:
    """An expert's proposal (or reschedule) the user has not answered, not even by a
    counter-proposal."""
    return (
        s.status is AWAITING
        and s.approved_by_expert
        and not s.approved_by_user
        and s.alt_proposed_by is None
    )


def _user_withdrawable(s: State) -> bool:
    return s.status is AWAITING and s.approved_by_user and not s.approved_by_expert


def _agreed(s: State) -> bool:
    return s.status is AGREED


def _rejected(s: State) -> bool:
    return s.status is REJECTED


def _user_may_counter(s: State) -> bool:
    return (
        s.status in (AGREED, REJECTED)
        or (s.status is AWAITING and s.approved_by_expert and not s.approved_by_user)
    )


def _conference_wanted(s: State) -> bool:
    """Agreed, and neither given up on (a new agreement or date sets it PENDING again) nor
    cancelled."""
    return s.status is AGREED and s.conference not in (ConferenceStatus.CANCELLED,
                                                       ConferenceStatus.FAILED)


def _conference_open(s: State) -> bool:
    return s.status is AGREED and s.conference in (ConferenceStatus.PENDING,
                                                   ConferenceStatus.CREATED)


def _conference_cancelled(s: State) -> bool:
    return s.conference is ConferenceStatus.CANCELLED


def _alt_by(party: Party) -> Callable[[State], bool]:
    return lambda s: s.alt_proposed_by is party


_AGREE = {
    "status": AGREED,
    "approved_by_user": True,
    "approved_by_expert": True,
    "credits": CreditMove.BLOCK,
    "warn_conflicts": True,
    "conference": ConferenceJob.CREATE_OR_MOVE,
    "reminders": ReminderPlan.PLAN,
}
_AGREED_ENDS = {
    "alternative": Alternative.DROP,
    "conference": ConferenceJob.DELETE,
    "reminders": ReminderPlan.DROP,
}
U, E = Party.USER, Party.EXPERT
A = MeetingAction
S = SystemAction

RULES: tuple[Rule, ...] = (
    Rule("A1", Creation.REQUEST, U, lambda s: True, status=AWAITING, approved_by_user=True,
         approved_by_expert=False, credits=CreditMove.BLOCK, date_in_availability=True,
         events=(ev(K.REQUESTED_BY_USER),), notify=N.MEETING_REQUESTED),
    Rule("A4", Creation.PROPOSE, E, lambda s: True, status=AWAITING, approved_by_user=False,
         approved_by_expert=True, events=(ev(K.APPROVED_BY_EXPERT, "Expert approval"),),
         notify=N.EXPERT_MEETING_INVITATION),
    Rule("A2", A.CONFIRM, E, _awaiting_expert, **_AGREE,  # type: ignore[arg-type]
         events=(ev(K.APPROVED_BY_EXPERT),), notify=N.MEETING_CONFIRMED),
    Rule("A2′", A.CONFIRM, U, _awaiting_user, **_AGREE,  # type: ignore[arg-type]
         events=(ev(K.APPROVED_BY_USER),), notify=N.MEETING_CONFIRMED),
    Rule("A3", A.DECLINE, E, _awaiting_expert, status=REJECTED, credits=CreditMove.RETURN,
         reason=ReasonKind.REJECTION, reason_required=True,
         events=(ev(K.REJECTED_BY_EXPERT),), notify=N.MEETING_DECLINED),
    Rule("A3′", A.DECLINE, U, _awaiting_user, status=REJECTED, credits=CreditMove.RETURN,
         reason=ReasonKind.REJECTION, reason_required=True,
         events=(ev(K.REJECTED_BY_USER),), notify=N.MEETING_DECLINED),
    Rule("A5", A.CANCEL, E, _awaiting_user, status=MeetingStatus.CANCELLED,
         reason=ReasonKind.CANCELLATION,
         events=(ev(K.CANCELLED_BY_EXPERT),), notify=N.MEETING_CANCELLED),
    Rule("A5′", A.CANCEL, U, _user_withdrawable, status=MeetingStatus.CANCELLED,
         credits=CreditMove.RETURN, reason=ReasonKind.CANCELLATION,
         events=(ev(K.CANCELLED_BY_USER),), notify=N.MEETING_CANCELLED),
    Rule("A6", A.CANCEL, E, _agreed, status=MeetingStatus.CANCELLED, credits=CreditMove.RETURN,
         reason=ReasonKind.CANCELLATION, reason_required=True, late_acknowledgement=True,
         **_AGREED_ENDS,  # type: ignore[arg-type]
         events=(ev(K.CANCELLED_BY_EXPERT),), notify=N.MEETING_CANCELLED),
    Rule("A6′", A.CANCEL, U, _agreed, status=MeetingStatus.CANCELLED,
         credits=CreditMove.LATE_POLICY, reason=ReasonKind.CANCELLATION, reason_required=True,
         late_acknowledgement=True, **_AGREED_ENDS,  # type: ignore[arg-type]
         events=(ev(K.CANCELLED_BY_USER),), notify=N.MEETING_CANCELLED),
    Rule("A7", A.RESCHEDULE, E, _rejected, status=AWAITING, approved_by_user=False,
         approved_by_expert=True, alternative=Alternative.REPLACE_DATE,
         refused_while_other_alternative=True,
         events=(ev(K.ALTERNATIVE_DATE_SELECTED_BY_EXPERT), ev(K.APPROVED_BY_EXPERT)),
         notify=N.RESCHEDULED_REJECTED_BY_EXPERT),
    Rule("A7", A.RESCHEDULE, E, _agreed, alternative=Alternative.PROPOSE,
         refused_while_other_alternative=True,
         events=(ev(K.ALTERNATIVE_DATE_SELECTED_BY_EXPERT), ev(K.APPROVED_BY_EXPERT)),
         notify=N.RESCHEDULED_AGREED_BY_EXPERT),
    Rule("A7′", A.RESCHEDULE, U, _user_may_counter, alternative=Alternative.PROPOSE,
         refused_while_other_alternative=True, date_in_availability=True,
         events=(ev(K.ALTERNATIVE_DATE_SELECTED_BY_USER), ev(K.APPROVED_BY_USER)),
         notify=N.ALTERNATIVE_DATE_PROPOSED),
    Rule("A8", A.CONFIRM_ALTERNATIVE_DATE, E, _alt_by(U), alternative=Alternative.APPLY,
         **_AGREE,  # type: ignore[arg-type]
         events=(ev(K.ALTERNATIVE_DATE_APPROVED_BY_EXPERT),),
         notify=N.ALTERNATIVE_DATE_CONFIRMED),
    Rule("A8′", A.CONFIRM_ALTERNATIVE_DATE, U, _alt_by(E), alternative=Alternative.APPLY,
         **_AGREE,  # type: ignore[arg-type]
         events=(ev(K.ALTERNATIVE_DATE_APPROVED_BY_USER),),
         notify=N.ALTERNATIVE_DATE_CONFIRMED),
    Rule("A9", A.REJECT_ALTERNATIVE_DATE, E, _alt_by(U), status=REJECTED,
         credits=CreditMove.RETURN, reason=ReasonKind.REJECTION, reason_required=True,
         **_AGREED_ENDS,  # type: ignore[arg-type]
         events=(ev(K.ALTERNATIVE_DATE_REJECTED_BY_EXPERT),),
         notify=N.ALTERNATIVE_DATE_REJECTED),
    Rule("A9′", A.REJECT_ALTERNATIVE_DATE, U, _alt_by(E), alternative=Alternative.DROP,
         reason=ReasonKind.REJECTION, reason_required=True,
         events=(ev(K.ALTERNATIVE_DATE_REJECTED_BY_USER),),
         notify=N.ALTERNATIVE_DATE_REJECTED),
    Rule("A10", A.CANCEL_ALTERNATIVE_DATE, E, _alt_by(E), alternative=Alternative.DROP,
         events=(ev(K.ALTERNATIVE_DATE_CANCELLED_BY_EXPERT),)),
    Rule("A10′", A.CANCEL_ALTERNATIVE_DATE, U, _alt_by(U), alternative=Alternative.DROP,
         events=(ev(K.ALTERNATIVE_DATE_CANCELLED_BY_USER),)),
    Rule("S1", S.COMPLETE, None, _agreed, status=MeetingStatus.COMPLETED,
         credits=CreditMove.CAPTURE, alternative=Alternative.DROP,
         reminders=ReminderPlan.DROP, events=(ev(K.COMPLETED),)),
    Rule("S2", S.EXPIRE, None, lambda s: s.status is AWAITING,
         status=MeetingStatus.EXPIRED, credits=CreditMove.RETURN, alternative=Alternative.DROP,
         events=(ev(K.EXPIRED),), notify=N.MEETING_EXPIRED, recipients=Recipients.BOTH),
    # When S3 and S4 fall due, and that the link waits for the conference, is the reminder
    # sweep's (workers/reminders.py); what sending one records is here.
    Rule("S3", S.SEND_REMINDER, None, _agreed, events=(ev(K.REMINDER_SENT),),
         notify=N.MEETING_REMINDER, recipients=Recipients.USER),
    Rule("S4", S.SEND_LINK, None, _agreed, events=(ev(K.LINK_SENT),),
         notify=N.MEETING_LINK, recipients=Recipients.EXPERT),
    # The provider's answer to a conference job (workers/conferencing/jobs.py).
    Rule("S5", S.CREATE_CONFERENCE, None, _conference_wanted,
         conference_status=ConferenceStatus.CREATED, events=(ev(K.CONFERENCE_CREATED),)),
    Rule("S5", S.MOVE_CONFERENCE, None, _conference_wanted,
         conference_status=ConferenceStatus.CREATED),
    Rule("S5", S.FAIL_CONFERENCE, None, _conference_open,
         conference_status=ConferenceStatus.FAILED, events=(ev(K.CONFERENCE_FAILED),),
         notify=N.CONFERENCE_FAILED, recipients=Recipients.BOTH),
    Rule("S6", S.DELETE_CONFERENCE, None, _conference_cancelled,
         events=(ev(K.CONFERENCE_CANCELLED),)),
)

_BY_ACTION: dict[tuple[object, Party | None], tuple[Rule, ...]] = {}
for _rule in RULES:
    _BY_ACTION.setdefault((_rule.action, _rule.party), ())
    _BY_ACTION[(_rule.action, _rule.party)] += (_rule,)


def creation_rule(action: Creation) -> Rule:
    return _BY_ACTION[(action, U if action is Creation.REQUEST else E)][0]


def system_rule(action: SystemAction) -> Rule:
    return _BY_ACTION[(action, None)][0]


def system_applies(action: SystemAction, state: State) -> bool:
    """Whether the system action may be recorded now (its row's guard)."""
    return system_rule(action).when(state)


def recipients(rule: Rule, party: Party | None) -> tuple[Party, ...]:
    """The parties told of a rule's change (none when it notifies nobody)."""
    if rule.notify is None:
        return ()
    if rule.recipients is Recipients.OTHER:
        assert party is not None, f"{rule.code} names no acting party"
        return (party.other,)
    if rule.recipients is Recipients.BOTH:
        return (U, E)
    return (U,) if rule.recipients is Recipients.USER else (E,)


def _other_alternative_pending(rule: Rule, state: State) -> bool:
    return (
        rule.refused_while_other_alternative
        and rule.party is not None
        and state.alt_proposed_by is rule.party.other
    )


def decide(action: MeetingAction, party: Party, state: State) -> Rule:
    """The rule that applies, or the DomainError the SPEC names (INVALID_STATE or
    ALTERNATIVE_PENDING)."""
    for rule in _BY_ACTION.get((action, party), ()):
        if rule.when(state):
            if _other_alternative_pending(rule, state):
                raise DomainError(
                    ErrorCode.ALTERNATIVE_PENDING,
                    "The other party's alternative date is pending: answer it first.",
                )
            return rule
    raise DomainError(
        ErrorCode.INVALID_STATE,
        f"{action.value} is not allowed for the {party.value.lower()} while the meeting is "
        f"{state.status.value}.",
    )


def available_actions(party: Party, state: State) -> list[MeetingAction]:
    """Actions the party may take now (not counting balance or time of start)."""
    found = []
    for action in MeetingAction:
        for rule in _BY_ACTION.get((action, party), ()):
            if rule.when(state) and not _other_alternative_pending(rule, state):
                found.append(action)
                break
    return found


def awaiting_response_from(state: State) -> Party | None:
    if state.alt_proposed_by is not None:
        return state.alt_proposed_by.other
    if state.status is AWAITING:
        if not state.approved_by_expert:
            return E
        if not state.approved_by_user:
            return U
    return None


def credit_move(rule: Rule, *, late: bool, late_policy: str) -> CreditMove | None:
    if rule.credits is CreditMove.LATE_POLICY:
        return CreditMove.CAPTURE if late and late_policy == "charge" else CreditMove.RETURN
    return rule.credits


def next_credit_status(
    move: CreditMove | None, current: CreditPaymentStatus
) -> CreditPaymentStatus:
    """Credits move only from where they are: nothing is returned that was never blocked."""
    blocked = current is CreditPaymentStatus.BLOCKED
    if move is CreditMove.BLOCK and not blocked:
        return CreditPaymentStatus.BLOCKED
    if move is CreditMove.RETURN and blocked:
        return CreditPaymentStatus.RETURNED
    if move is CreditMove.CAPTURE and blocked:
        return CreditPaymentStatus.PAID
    return current


def next_state(rule: Rule, state: State, move: CreditMove | None, party: Party | None) -> State:
    alt: Party | None = state.alt_proposed_by
    if rule.alternative is Alternative.PROPOSE:
        alt = party
    elif rule.alternative in (Alternative.DROP, Alternative.APPLY, Alternative.REPLACE_DATE):
        alt = None
    return replace(
        state,
        status=rule.status or state.status,
        approved_by_user=(
            state.approved_by_user if rule.approved_by_user is None else rule.approved_by_user
        ),
        approved_by_expert=(
            state.approved_by_expert
            if rule.approved_by_expert is None
            else rule.approved_by_expert
        ),
        alt_proposed_by=alt,
        credit_status=next_credit_status(move, state.credit_status),
    )


def system_due(action: SystemAction, starts_at: datetime, ends_at: datetime,
               now: datetime) -> bool:
    """SPEC §4: S1 once an AGREED meeting has ended, S2 once an unanswered one's start passed."""
    return (ends_at if action is SystemAction.COMPLETE else starts_at) <= now


def has_started(starts_at: datetime, now: datetime) -> bool:
    """SPEC §2: participant actions need "the scheduled start has not yet occurred"."""
    return now >= starts_at


def is_late(starts_at: datetime, now: datetime, window_hours: int) -> bool:
    """SPEC: late means now > startsAt − 48 h (the window is configurable)."""
    return now > starts_at - timedelta(hours=window_hours)
