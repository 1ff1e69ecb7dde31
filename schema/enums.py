"""GraphQL enums, built from the domain's enums so that the two never drift."""

from enum import Enum

import strawberry

from models import enums as domain
from models.errors import ErrorCode as DomainErrorCode

Party = strawberry.enum(domain.Party, name="Party")
MeetingStatus = strawberry.enum(domain.MeetingStatus, name="MeetingStatus")
CreditPaymentStatus = strawberry.enum(domain.CreditPaymentStatus, name="CreditPaymentStatus")
ConferenceStatus = strawberry.enum(domain.ConferenceStatus, name="ConferenceStatus")
ReasonKind = strawberry.enum(domain.ReasonKind, name="ReasonKind")
MeetingAction = strawberry.enum(domain.MeetingAction, name="MeetingAction")
TimelineEventKind = strawberry.enum(domain.TimelineEventKind, name="TimelineEventKind")
NotificationKind = strawberry.enum(domain.NotificationKind, name="NotificationKind")
CreditEntryKind = strawberry.enum(domain.CreditEntryKind, name="CreditEntryKind")
MessageKind = strawberry.enum(domain.MessageKind, name="MessageKind")
ErrorCode = strawberry.enum(DomainErrorCode, name="ErrorCode")


@strawberry.enum
class MeetingRole(Enum):
    USER = "USER"
    EXPERT = "EXPERT"
    ANY = "ANY"


@strawberry.enum
class WarningCode(Enum):
    TIME_CONFLICT = "TIME_CONFLICT"


@strawberry.enum
class Weekday(Enum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6
