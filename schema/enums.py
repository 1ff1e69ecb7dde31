"""GraphQL enums. The domain's enums are registered as they are, so names never drift."""

from enum import Enum

import strawberry

from core.errors import ErrorCode
from models.enums import (
    ConferenceStatus,
    CreditEntryKind,
    CreditPaymentStatus,
    MeetingAction,
    MeetingRole,
    MeetingStatus,
    MessageKind,
    NotificationKind,
    Party,
    ReasonKind,
    TimelineEventKind,
)

for _enum in (Party, MeetingStatus, CreditPaymentStatus, ConferenceStatus, ReasonKind,
              MeetingAction, MeetingRole, TimelineEventKind, NotificationKind, CreditEntryKind,
              MessageKind, ErrorCode):
    strawberry.enum(_enum)

__all__ = [
    "ConferenceStatus", "CreditEntryKind", "CreditPaymentStatus", "ErrorCode", "MeetingAction",
    "MeetingRole", "MeetingStatus", "MessageKind", "NotificationKind", "Party", "ReasonKind",
    "TimelineEventKind", "WarningCode", "Weekday",
]


@strawberry.enum
class WarningCode(Enum):
    TIME_CONFLICT = "TIME_CONFLICT"
    BUSY_IN_CALENDAR = strawberry.enum_value("BUSY_IN_CALENDAR", description=(
        "The meeting overlaps a busy time of one of the expert's own calendars (named in the "
        "message)."))


@strawberry.enum
class Weekday(Enum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6
