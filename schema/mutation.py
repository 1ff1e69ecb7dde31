"""The Mutation root: authenticate, decode ids, call resolvers/, wrap the result in its
payload. A DomainError lands in the payload's `errors` (`payloads.mutation`)."""

import strawberry

from models.availability import BlockedDate, FreeDate
from models.enums import MeetingAction
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
    mutation,
)
from schema.scalars import from_global_id
from schema.types import Info


async def _availability(info: Info) -> AvailabilityPayload:
    viewer = access.require_viewer(info.context)
    profile = await experts.ensure_profile(viewer)
    return AvailabilityPayload(availability=t.Availability(
        timezone=profile.availability_timezone, expert_id=profile.account_id),
        expert=t.Account.of(viewer))


def _id(value: strawberry.ID | None, type_name: str) -> int | None:
    return from_global_id(value, type_name) if value is not None else None


@strawberry.type
class Mutation:
    @mutation
    async def request_meeting(self, info: Info,
                              input: inputs.RequestMeetingInput) -> MeetingPayload:
        viewer = access.require_viewer(info.context)
        return MeetingPayload.of(await actions.request_meeting(
            viewer, _id(input.service_id, "ExpertService"), _id(input.skill_id, "Skill"),
            input.starts_at))

    @mutation
    async def propose_meeting(self, info: Info,
                              input: inputs.ProposeMeetingInput) -> MeetingPayload:
        viewer = access.require_viewer(info.context)
        return MeetingPayload.of(await actions.propose_meeting(
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

    @mutation
    async def confirm_meeting(self, info: Info, input: inputs.MeetingRefInput) -> MeetingPayload:
        return await _act(info, MeetingAction.CONFIRM, input)

    @mutation
    async def decline_meeting(self, info: Info,
                              input: inputs.DeclineMeetingInput) -> MeetingPayload:
        return await _act(info, MeetingAction.DECLINE, input, reason_code=input.reason_code,
                          note=input.note)

    @mutation
    async def cancel_meeting(self, info: Info, input: inputs.CancelMeetingInput) -> MeetingPayload:
        return await _act(info, MeetingAction.CANCEL, input, reason_code=input.reason_code,
                          note=input.note,
                          acknowledge_late=bool(input.acknowledge_late_cancellation))

    @mutation
    async def reschedule_meeting(self, info: Info,
                                 input: inputs.RescheduleMeetingInput) -> MeetingPayload:
        return await _act(info, MeetingAction.RESCHEDULE, input, new_starts_at=input.starts_at)

    @mutation
    async def confirm_alternative_date(self, info: Info,
                                       input: inputs.MeetingRefInput) -> MeetingPayload:
        return await _act(info, MeetingAction.CONFIRM_ALTERNATIVE_DATE, input)

    @mutation
    async def reject_alternative_date(self, info: Info,
                                      input: inputs.RejectAlternativeDateInput) -> MeetingPayload:
        return await _act(info, MeetingAction.REJECT_ALTERNATIVE_DATE, input,
                          reason_code=input.reason_code, note=input.note)

    @mutation
    async def cancel_alternative_date(self, info: Info,
                                      input: inputs.MeetingRefInput) -> MeetingPayload:
        return await _act(info, MeetingAction.CANCEL_ALTERNATIVE_DATE, input)

    @mutation
    async def update_expert_profile(self, info: Info,
                                    input: inputs.UpdateExpertProfileInput) -> ExpertProfilePayload:
        viewer = access.require_viewer(info.context)
        profile = await experts.update_profile(viewer, input.headline, input.skill_names)
        return ExpertProfilePayload(profile=t.ExpertProfile(row=profile))

    @mutation
    async def create_expert_service(self, info: Info,
                                    input: inputs.ExpertServiceInput) -> ExpertServicePayload:
        viewer = access.require_viewer(info.context)
        service = await experts.create_service(viewer, input.title, input.description,
                                               input.skill_names, input.length_minutes,
                                               input.price_credits)
        return ExpertServicePayload(service=t.ExpertService.of(service))

    @mutation
    async def update_expert_service(self, info: Info, id: strawberry.ID,
                                    input: inputs.UpdateExpertServiceInput
                                    ) -> ExpertServicePayload:
        viewer = access.require_viewer(info.context)
        service = await experts.update_service(
            viewer, from_global_id(id, "ExpertService"), title=input.title,
            description=input.description, skill_names=input.skill_names,
            length=input.length_minutes, price=input.price_credits, active=input.active)
        return ExpertServicePayload(service=t.ExpertService.of(service))

    @mutation
    async def set_weekly_availability(self, info: Info, input: inputs.SetWeeklyAvailabilityInput
                                      ) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        rules = [experts.RuleInput(r.weekday.value, r.start_time, r.end_time)
                 for r in input.rules]
        await experts.set_weekly(viewer, input.timezone, rules)
        return await _availability(info)

    @mutation
    async def add_free_dates(self, info: Info,
                             input: list[inputs.DateRangeInput]) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        await experts.add_dates(viewer, FreeDate, [(r.starts_at, r.ends_at) for r in input])
        return await _availability(info)

    @mutation
    async def remove_free_dates(self, info: Info,
                                ids: list[strawberry.ID]) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        await experts.remove_dates(viewer, FreeDate, [from_global_id(i, "FreeDate") for i in ids])
        return await _availability(info)

    @mutation
    async def add_blocked_dates(self, info: Info,
                                input: list[inputs.DateRangeInput]) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        await experts.add_dates(viewer, BlockedDate, [(r.starts_at, r.ends_at) for r in input])
        return await _availability(info)

    @mutation
    async def remove_blocked_dates(self, info: Info,
                                   ids: list[strawberry.ID]) -> AvailabilityPayload:
        viewer = access.require_viewer(info.context)
        await experts.remove_dates(viewer, BlockedDate,
                                   [from_global_id(i, "BlockedDate") for i in ids])
        return await _availability(info)

    @mutation
    async def start_conversation(self, info: Info,
                                 with_account_id: strawberry.ID) -> ConversationPayload:
        viewer = access.require_viewer(info.context)
        conversation = await chat.start_conversation(
            viewer, from_global_id(with_account_id, "Account"))
        return ConversationPayload(conversation=t.Conversation.of(conversation))

    @mutation
    async def send_message(self, info: Info, conversation_id: strawberry.ID,
                           body: str) -> MessagePayload:
        viewer = access.require_viewer(info.context)
        message = await chat.send_message(
            viewer, from_global_id(conversation_id, "Conversation"), body)
        return MessagePayload(message=t.Message.of(message))

    @mutation
    async def mark_notifications_read(self, info: Info, ids: list[strawberry.ID] | None = None
                                      ) -> MarkNotificationsReadPayload:
        viewer = access.require_viewer(info.context)
        pks = None if ids is None else [from_global_id(i, "Notification") for i in ids]
        await account_actions.mark_read(viewer, pks)
        marked = ([] if pks is None else
                  await access.own_notifications(viewer, [i for i in pks if i is not None]))
        return MarkNotificationsReadPayload(notifications=[t.Notification.of(n) for n in marked])

    @mutation
    async def grant_credits(self, info: Info, input: inputs.GrantCreditsInput) -> CreditsPayload:
        viewer = access.require_viewer(info.context)
        account = await account_actions.grant_credits(
            viewer, from_global_id(input.account_id, "Account"), input.amount, input.reference)
        return CreditsPayload(balance=t.CreditBalance(
            available=account.credits_available, blocked=account.credits_blocked))

    @mutation(description=(
        "Creates the viewer's calendar feed, or gives it a new URL (the old one stops working "
        "at once)."))
    async def rotate_calendar_feed(self, info: Info) -> CalendarFeedPayload:
        viewer = access.require_viewer(info.context)
        link = await calendar_feed.rotate(viewer, t.base_url(info))
        return CalendarFeedPayload(feed=t.CalendarFeed.of(link))

    @mutation(description=(
        "Adds a busy calendar and fetches it once before answering (errors and lastError say "
        "why not)."))
    async def add_busy_calendar(self, info: Info,
                                input: inputs.AddBusyCalendarInput) -> BusyCalendarPayload:
        viewer = access.require_viewer(info.context)
        calendar = await busy_calendars.add(viewer, input.url, input.name)
        return BusyCalendarPayload(calendar=t.BusyCalendar.of(calendar))

    @mutation(description=(
        "Fetches the calendar now, as the worker does on its schedule, and returns its state."))
    async def refresh_busy_calendar(self, info: Info, id: strawberry.ID) -> BusyCalendarPayload:
        viewer = access.require_viewer(info.context)
        calendar = await busy_calendars.refresh_own(viewer, from_global_id(id, "BusyCalendar"))
        return BusyCalendarPayload(calendar=t.BusyCalendar.of(calendar))

    @mutation
    async def remove_busy_calendar(self, info: Info, id: strawberry.ID) -> BusyCalendarPayload:
        viewer = access.require_viewer(info.context)
        calendar = await busy_calendars.remove(viewer, from_global_id(id, "BusyCalendar"))
        return BusyCalendarPayload(calendar=t.BusyCalendar.of(calendar))


async def _act(info: Info, action: MeetingAction, input: inputs.MeetingRefInput
               | inputs.DeclineMeetingInput | inputs.CancelMeetingInput
               | inputs.RescheduleMeetingInput | inputs.RejectAlternativeDateInput,
               **options: object) -> MeetingPayload:
    viewer = access.require_viewer(info.context)
    return MeetingPayload.of(await actions.act(
        viewer, action, from_global_id(input.meeting_id, "Meeting"),
        expected_version=input.expected_version, **options))  # type: ignore[arg-type]
