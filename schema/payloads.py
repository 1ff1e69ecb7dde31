"""Mutation payloads: the result, `errors` (domain failures) and `warnings`, and the one
place that turns a refused mutation (DomainError) into its payload's `errors`."""

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.extensions import FieldExtension

from core.metrics import count_user_error
from models.errors import DomainError
from resolvers import access, queries
from resolvers.meetings import Outcome
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
    Info,
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


class DomainErrorsInPayload(FieldExtension):
    """A DomainError raised by the mutation's resolver (inside its transaction, so nothing
    was written) becomes the payload's `errors`, counted as
    `meetings_graphql_errors_total{source="payload"}`. Anything else propagates."""

    async def resolve_async(self, next_: Callable[..., Any], source: Any, info: Any,
                            **kwargs: Any) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except DomainError as error:
            count_user_error(error.code)
            payload_type: Any = self.field.type
            return payload_type(errors=[UserError(code=error.code, message=error.message,
                                                  field=error.field)])

    def apply(self, field: Any) -> None:
        self.field = field


def mutation(resolver: Callable[..., Any] | None = None, *,
             description: str | None = None) -> Any:
    """`strawberry.mutation` whose DomainErrors land in the payload (each field its own
    extension instance: it remembers its field's payload type)."""
    def make(function: Callable[..., Any]) -> Any:
        return strawberry.mutation(description=description,
                                   extensions=[DomainErrorsInPayload()])(function)

    return make(resolver) if resolver is not None else make


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
    @strawberry.field(description=(
        "The viewer after the action (e.g. `credits`, blocked or returned by it)."))
    def viewer(self, info: Info) -> Viewer | None:
        return Viewer(row=access.require_viewer(info.context))

    @classmethod
    def of(cls, outcome: Outcome) -> "MeetingPayload":
        warnings = []
        if outcome.conflicts:
            warnings.append(Warning(
                code=enums.WarningCode.TIME_CONFLICT,
                message=f"{len(outcome.conflicts)} of your agreed meetings overlap this one.",
                conflicting_meetings=[Meeting.of(m) for m in outcome.conflicts],
            ))
        if outcome.busy_calendars:
            names = ", ".join(f"“{n}”" for n in outcome.busy_calendars)
            warnings.append(Warning(
                code=enums.WarningCode.BUSY_IN_CALENDAR,
                message=f"This meeting overlaps a busy time in your calendar {names}.",
                conflicting_meetings=[],
            ))
        return cls(meeting=Meeting.of(outcome.meeting), warnings=warnings)


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
    @strawberry.field(description="The viewer's unread notifications after the change.")
    async def unread_count(self, info: Info) -> int:
        return await queries.unread_count(access.require_viewer(info.context).id)

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
