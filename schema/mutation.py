"""The Mutation root: decode ids, call resolvers/, map DomainErrors to payload errors."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from models.availability import BlockedDate, FreeDate
from models.calendars import BusyCalendar as BusyCalendarRow
from models.enums import MeetingAction
from models.errors import DomainError
from resolvers import access, account_actions, busy_calendars, calendar_feed, chat, experts
from resolvers import meetings as actions
from schema import inputs
from schema import types as t
from schema.payloads import (
    AvailabilityPayload,
    BusyCalendarPayload,
    CalendarFeedPayload,
    ConversationPayload,
    CreditsPayload,
    ExpertProfilePayload,
    ExpertServicePayload,
    MarkNotificationsReadPayload,
    MeetingPayload,
    MessagePayload,
    UserError,
    Warning,
)
from schema.scalars import from_global_id
from schema.types import Info

R = TypeVar("R")
P = TypeVar("P")


async def _attempt(work: Callable[[], Awaitable[R]], ok: Callable[[R], P],
                   failed: Callable[[list[UserError]], P]) -> P:
    try:
        result = await work()
    except DomainError as error:
        return failed([UserError.of(error)])
    return ok(result)


def _meeting_payload(outcome: actions.Outcome) -> MeetingPayload:
    warnings = []
    if outcome.conflicts:
        warnings.append(Warning(
            code=t.enums.WarningCode.TIME_CONFLICT,
            message=f"{len(outcome.conflicts)} of your agreed meetings overlap this one.",
            conflicting_meetings=[t.Meeting.of(m) for m in outcome.conflicts],
        ))
    if outcome.busy_calendars:
        names = ", ".join(f"“{n}”" for n in outcome.busy_calendars)
        warnings.append(Warning(
            code=t.enums.WarningCode.BUSY_IN_CALENDAR,
            message=f"This meeting overlaps a busy time in your calendar {names}.",
            conflicting_meetings=[],
        ))
    return MeetingPayload(meeting=t.Meeting.of(outcome.meeting), warnings=warnings)


async def _meeting(info: Info,
                   work: Callable[[], Awaitable[actions.Outcome]]) -> MeetingPayload:
    payload = await _attempt(work, _meeting_payload, lambda e: MeetingPayload(errors=e))
    payload.viewer = t.Viewer(row=access.require_viewer(info.context))
    return payload


async def _availability_payload(info: Info,
                                work: Callable[[], Awaitable[object]]) -> AvailabilityPayload:
    try:
        await work()
    except DomainError as error:
        return AvailabilityPayload(errors=[UserError.of(error)])
    viewer = access.require_viewer(info.context)
    profile = await experts.ensure_profile(viewer)
    return AvailabilityPayload(availability=t.Availability(
        timezone=profile.availability_timezone, expert_id=profile.account_id),
        expert=t.Account.of(viewer))


def _id(value: strawberry.ID | None, type_name: str) -> int | None:
    return from_global_id(value, type_name) if value is not None else None


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def request_meeting(self, info: Info,
                              input: inputs.RequestMeetingInput) -> MeetingPayload:
        viewer = access.require_viewer(info.context)
        return await _meeting(info, lambda: actions.request_meeting(
            viewer, _id(input.service_id, "ExpertService"), _id(input.skill_id, "Skill"),
            input.starts_at))

    @strawberry.mutation
    async def propose_meeting(self, info: Info,
                              input: inputs.ProposeMeetingInput) -> MeetingPayload:
        viewer = access.require_viewer(info.context)
        return await _meeting(info, lambda: actions.propose_meeting(
            viewer,
            user_id=_id(input.user_id, "Account") if input.user_id else None,
            from_meeting_id=_id(input.from_meeting_id, "Meeting") if input.from_meeting_id
            else None,
            conversation_id=_id(input.conversation_id, "Conversation")
            if input.conversation_id else None,
            service_id=_id(input.service_id, "ExpertService"),
            skill_id=_id(input.skill_id, "Skill"),
            starts_at=input.starts_at, length_minutes=input.length_minutes,
            price_credits=input.price_credits))

    @strawberry.mutation
    async def confirm_meeting(self, info: Info, input: inputs.MeetingRefInput) -> MeetingPayload:
        return await _act(info, MeetingAction.CONFIRM, input)

    @strawberry.mutation
    async def decline_meeting(self, info: Info,
                              input: inputs.DeclineMeetingInput) -> MeetingPayload:
        return await _act(info, MeetingAction.DECLINE, input, reason_code=input.reason_code,
                          note=input.note)

    @strawberry.mutation
    async def cancel_meeting(self, info: Info, input: inputs.CancelMeetingInput) -> MeetingPayload:
        return await _act(info, MeetingAction.CANCEL, input, reason_code=input.reason_code,
                          note=input.note,
                          acknowledge_late=bool(input.acknowledge_late_cancellation))

    @strawberry.mutation
    async def reschedule_meeting(self, info: Info,
                                 input: inputs.RescheduleMeetingInput) -> MeetingPayload:
        return await _act(info, MeetingAction.RESCHEDULE, input, new_starts_at=input.starts_at)

    @strawberry.mutation
    async def confirm_alternative_date(self, info: Info,
                                       input: inputs.MeetingRefInput) -> MeetingPayload:
        return await _act(info, MeetingAction.CONFIRM_ALTERNATIVE_DATE, input)

    @strawberry.mutation
    async def reject_alternative_date(self, info: Info,
                                      input: inputs.RejectAlternativeDateInput) -> MeetingPayload:
        return await _act(info, MeetingAction.REJECT_ALTERNATIVE_DATE, input,
                          reason_code=input.reason_code, note=input.note)

    @strawberry.mutation
    async def cancel_alternative_date(self, info: Info,
                                      input: inputs.MeetingRefInput) -> MeetingPayload:
        return await _act(info, MeetingAction.CANCEL_ALTERNATIVE_DATE, input)

    @strawberry.mutation
    async def update_expert_profile(self, info: Info,
                                    input: inputs.UpdateExpertProfileInput) -> ExpertProfilePayload:
        viewer = access.require_viewer(info.context)
        return await _attempt(
            lambda: experts.update_profile(viewer, input.headline, input.skill_names),
            lambda profile: ExpertProfilePayload(profile=t.ExpertProfile(row=profile)),
            lambda e: ExpertProfilePayload(errors=e))

    @strawberry.mutation
    async def create_expert_service(self, info: Info,
                                    input: inputs.ExpertServiceInput) -> ExpertServicePayload:
        viewer = access.require_viewer(info.context)
        return await _attempt(
            lambda: experts.create_service(viewer, input.title, input.description,
                                           input.skill_names, input.length_minutes,
                                           input.price_credits),
            lambda s: ExpertServicePayload(service=t.ExpertService.of(s)),
            lambda e: ExpertServicePayload(errors=e))

    @strawberry.mutation
    async def update_expert_service(self, info: Info, id: strawberry.ID,
                                    input: inputs.UpdateExpertServiceInput
                                    ) -> ExpertServicePayload:
        viewer = access.require_viewer(info.context)
        return await _attempt(
            lambda: experts.update_service(
                viewer, from_global_id(id, "ExpertService"), title=input.title,
                description=input.description, skill_names=input.skill_names,
                length=input.length_minutes, price=input.price_credits, active=input.active),
            lambda s: ExpertServicePayload(service=t.ExpertService.of(s)),
            lambda e: ExpertServicePayload(errors=e))

    @strawberry.mutation
    async def set_weekly_availability(self, info: Info, input: inputs.SetWeeklyAvailabilityInput
                                      ) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        rules = [experts.RuleInput(r.weekday.value, r.start_time, r.end_time)
                 for r in input.rules]
        return await _availability_payload(
            info, lambda: experts.set_weekly(viewer, input.timezone, rules))

    @strawberry.mutation
    async def add_free_dates(self, info: Info,
                             input: list[inputs.DateRangeInput]) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        ranges = [(r.starts_at, r.ends_at) for r in input]
        return await _availability_payload(
            info, lambda: experts.add_dates(viewer, FreeDate, ranges))

    @strawberry.mutation
    async def remove_free_dates(self, info: Info,
                                ids: list[strawberry.ID]) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        pks = [from_global_id(i, "FreeDate") for i in ids]
        return await _availability_payload(
            info, lambda: experts.remove_dates(viewer, FreeDate, pks))

    @strawberry.mutation
    async def add_blocked_dates(self, info: Info,
                                input: list[inputs.DateRangeInput]) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        ranges = [(r.starts_at, r.ends_at) for r in input]
        return await _availability_payload(
            info, lambda: experts.add_dates(viewer, BlockedDate, ranges))

    @strawberry.mutation
    async def remove_blocked_dates(self, info: Info,
                                   ids: list[strawberry.ID]) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        pks = [from_global_id(i, "BlockedDate") for i in ids]
        return await _availability_payload(
            info, lambda: experts.remove_dates(viewer, BlockedDate, pks))

    @strawberry.mutation
    async def start_conversation(self, info: Info,
                                 with_account_id: strawberry.ID) -> ConversationPayload:
        viewer = access.require_viewer(info.context)
        return await _attempt(
            lambda: chat.start_conversation(viewer, from_global_id(with_account_id, "Account")),
            lambda c: ConversationPayload(conversation=t.Conversation.of(c)),
            lambda e: ConversationPayload(errors=e))

    @strawberry.mutation
    async def send_message(self, info: Info, conversation_id: strawberry.ID,
                           body: str) -> MessagePayload:
        viewer = access.require_viewer(info.context)
        return await _attempt(
            lambda: chat.send_message(viewer, from_global_id(conversation_id, "Conversation"),
                                      body),
            lambda m: MessagePayload(message=t.Message.of(m)),
            lambda e: MessagePayload(errors=e))

    @strawberry.mutation
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID] | None = None
                                      ) -> MarkNotificationsReadPayload:
        viewer = access.require_viewer(info.context)
        pks = None if ids is None else [from_global_id(i, "Notification") for i in ids]
        try:
            unread = await account_actions.mark_read(viewer, pks)
        except DomainError as error:
            unread = await account_actions.mark_read(viewer, [])
            return MarkNotificationsReadPayload(unread_count=unread,
                                                errors=[UserError.of(error)])
        marked = ([] if pks is None else
                  await access.own_notifications(viewer, [i for i in pks if i is not None]))
        return MarkNotificationsReadPayload(
            unread_count=unread, notifications=[t.Notification.of(n) for n in marked])

    @strawberry.mutation
    async def grant_credits(self, info: Info, input: inputs.GrantCreditsInput) -> CreditsPayload:
        viewer = access.require_viewer(info.context)
        return await _attempt(
            lambda: account_actions.grant_credits(
                viewer, from_global_id(input.account_id, "Account"), input.amount,
                input.reference),
            lambda a: CreditsPayload(balance=t.CreditBalance(
                available=a.credits_available, blocked=a.credits_blocked)),
            lambda e: CreditsPayload(errors=e))

    @strawberry.mutation(description=(
        "Creates the viewer's calendar feed, or gives it a new URL (the old one stops working "
        "at once)."))
    async def rotate_calendar_feed(self, info: Info) -> CalendarFeedPayload:
        viewer = access.require_viewer(info.context)
        return await _attempt(
            lambda: calendar_feed.rotate(viewer, t.base_url(info)),
            lambda link: CalendarFeedPayload(feed=t.CalendarFeed.of(link)),
            lambda e: CalendarFeedPayload(errors=e))

    @strawberry.mutation(description=(
        "Adds a busy calendar and fetches it once before answering (errors and lastError say "
        "why not)."))
    async def add_busy_calendar(self, info: Info,
                                input: inputs.AddBusyCalendarInput) -> BusyCalendarPayload:
        viewer = access.require_viewer(info.context)
        return await _calendar(lambda: busy_calendars.add(viewer, input.url, input.name))

    @strawberry.mutation(description=(
        "Fetches the calendar now, as the worker does on its schedule, and returns its state."))
    async def refresh_busy_calendar(self, info: Info, id: strawberry.ID) -> BusyCalendarPayload:
        viewer = access.require_viewer(info.context)
        return await _calendar(lambda: busy_calendars.refresh_own(
            viewer, from_global_id(id, "BusyCalendar")))

    @strawberry.mutation
    async def remove_busy_calendar(self, info: Info, id: strawberry.ID) -> BusyCalendarPayload:
        viewer = access.require_viewer(info.context)
        return await _calendar(lambda: busy_calendars.remove(
            viewer, from_global_id(id, "BusyCalendar")))


async def _calendar(work: Callable[[], Awaitable[BusyCalendarRow]]) -> BusyCalendarPayload:
    return await _attempt(work, lambda c: BusyCalendarPayload(calendar=t.BusyCalendar.of(c)),
                          lambda e: BusyCalendarPayload(errors=e))


async def _act(info: Info, action: MeetingAction, input: inputs.MeetingRefInput
               | inputs.DeclineMeetingInput | inputs.CancelMeetingInput
               | inputs.RescheduleMeetingInput | inputs.RejectAlternativeDateInput,
               **options: object) -> MeetingPayload:
    viewer = access.require_viewer(info.context)
    return await _meeting(info, lambda: actions.act(
        viewer, action, from_global_id(input.meeting_id, "Meeting"),
        expected_version=input.expected_version, **options))  # type: ignore[arg-type]
