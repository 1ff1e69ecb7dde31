"""Input types, as the contract names them."""

import strawberry

from schema import enums
from schema.scalars import DateTime


@strawberry.input
class RequestMeetingInput:
    service_id: strawberry.ID
    skill_id: strawberry.ID
    starts_at: DateTime


@strawberry.input
class ProposeMeetingInput:
    service_id: strawberry.ID
    skill_id: strawberry.ID
    starts_at: DateTime
    length_minutes: int
    price_credits: int
    user_id: strawberry.ID | None = strawberry.field(default=None, description=(
        "The user to invite; may be left out when fromMeetingId or conversationId names them."))
    from_meeting_id: strawberry.ID | None = strawberry.field(
        default=None, description="Propose from an existing meeting: invites that meeting's user.")
    conversation_id: strawberry.ID | None = strawberry.field(
        default=None, description="Post the proposal into this chat.")


@strawberry.input
class MeetingRefInput:
    meeting_id: strawberry.ID
    expected_version: int | None = strawberry.field(default=None, description=(
        "When given, the action fails with STALE_VERSION if the meeting changed since."))


@strawberry.input
class DeclineMeetingInput:
    meeting_id: strawberry.ID
    reason_code: str
    expected_version: int | None = None
    note: str | None = None


@strawberry.input
class CancelMeetingInput:
    meeting_id: strawberry.ID
    expected_version: int | None = None
    reason_code: str | None = None
    note: str | None = None
    acknowledge_late_cancellation: bool | None = False


@strawberry.input
class RescheduleMeetingInput:
    meeting_id: strawberry.ID
    starts_at: DateTime
    expected_version: int | None = None


@strawberry.input
class RejectAlternativeDateInput:
    meeting_id: strawberry.ID
    reason_code: str
    expected_version: int | None = None
    note: str | None = None


@strawberry.input
class WeeklyRuleInput:
    weekday: enums.Weekday
    start_time: str
    end_time: str


@strawberry.input
class SetWeeklyAvailabilityInput:
    timezone: str
    rules: list[WeeklyRuleInput]


@strawberry.input
class AddBusyCalendarInput:
    url: str
    name: str


@strawberry.input
class DateRangeInput:
    starts_at: DateTime
    ends_at: DateTime


@strawberry.input
class ExpertServiceInput:
    title: str
    skill_names: list[str]
    length_minutes: int
    price_credits: int
    description: str | None = None


@strawberry.input
class UpdateExpertServiceInput:
    title: str | None = None
    description: str | None = None
    skill_names: list[str] | None = None
    length_minutes: int | None = None
    price_credits: int | None = None
    active: bool | None = strawberry.field(default=None, description=(
        "An inactive service cannot be requested; existing meetings are unaffected."))


@strawberry.input
class UpdateExpertProfileInput:
    headline: str | None = None
    skill_names: list[str] | None = None


@strawberry.input
class GrantCreditsInput:
    account_id: strawberry.ID
    amount: int
    reference: str = strawberry.field(description=(
        "Idempotency key, e.g. the payment id: granting twice with one reference credits once."))
