"""Mutation payloads: the result, `errors` (domain failures) and `warnings`."""

import strawberry

from core.metrics import count_user_error
from models.errors import DomainError
from schema import enums
from schema.types import (
    Account,
    Availability,
    BusyCalendar,
    CalendarFeed,
    Conversation,
    CreditBalance,
    ExpertProfile,
    ExpertService,
    Meeting,
    Message,
    Notification,
    Viewer,
)


@strawberry.type
class UserError:
    code: enums.ErrorCode
    message: str
    field: str | None = strawberry.field(description=(
        "Input field path, e.g. 'startsAt', when the error is about one field."))

    @classmethod
    def of(cls, error: DomainError) -> "UserError":
        count_user_error(error.code)  # meetings_graphql_errors_total{source="payload"}
        return cls(code=error.code, message=error.message, field=error.field)


@strawberry.type
class Warning:
    code: enums.WarningCode
    message: str
    conflicting_meetings: list[Meeting]


@strawberry.type
class MeetingPayload:
    meeting: Meeting | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    warnings: list[Warning] = strawberry.field(default_factory=list)
    viewer: Viewer | None = strawberry.field(default=None, description=(
        "The viewer after the action (e.g. `credits`, blocked or returned by it)."))


@strawberry.type
class AvailabilityPayload:
    availability: Availability | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
    expert: Account | None = strawberry.field(default=None, description=(
        "The expert whose availability this is: select `expertProfile { availability }` "
        "through it and a normalized cache updates the profile it already holds."))


@strawberry.type
class ExpertServicePayload:
    service: ExpertService | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ExpertProfilePayload:
    profile: ExpertProfile | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CreditsPayload:
    balance: CreditBalance | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ConversationPayload:
    conversation: Conversation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MessagePayload:
    message: Message | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MarkNotificationsReadPayload:
    unread_count: int
    errors: list[UserError] = strawberry.field(default_factory=list)
    notifications: list[Notification] = strawberry.field(default_factory=list, description=(
        "The notifications named in `ids`, as they are now (empty when `ids` is omitted)."))


@strawberry.type
class CalendarFeedPayload:
    feed: CalendarFeed | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BusyCalendarPayload:
    calendar: BusyCalendar | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
