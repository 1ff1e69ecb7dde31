"""Applying one lifecycle rule to a locked meeting: state, credits, timeline, notifications,
reminder plan, conference job and live event, all in the caller's transaction.

Participant actions, creations and system actions (S1–S6) all come through `apply_rule`,
and every change to a meeting is written by `record_change`, so a rule's effects are written
in exactly one place.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from core import clock
from core.settings import get_settings
from models import credits, lifecycle
from models.accounts import Account
from models.enums import (
    ConferenceStatus,
    CreditPaymentStatus,
    MeetingStatus,
    OutboxKind,
    Party,
    ReminderKind,
)
from models.lifecycle import Alternative, ConferenceJob, Event, ReminderPlan, Rule, State, state_of
from models.meetings import Meeting, Reason, Reminder, TimelineEvent
from models.outbox import OutboxEntry
from models.texts import render
from resolvers.outbox import entry, meeting_change, record_all, stored_notification


def columns(meeting: Meeting) -> dict[str, Any]:
    """The meeting's column values, to tell afterwards which ones a change touched."""
    return {name: getattr(meeting, name) for name in meeting._meta.fields_db_projection}


async def record_change(
    meeting: Meeting,
    before: Mapping[str, Any],
    events: Sequence[Event],
    *,
    actor: Party | None,
    starts_at: datetime | None,
    reason: Reason | None = None,
    note: str | None = None,
    outbox: Sequence[OutboxEntry] = (),
) -> list[TimelineEvent]:
    """Records one change of a meeting: version + 1, only the columns that changed since
    `before` are written, the timeline events, and the live event (after the other outbox
    rows, in one insert)."""
    now = clock.now()
    meeting.version += 1
    meeting.updated_at = now
    await meeting.save(update_fields=[name for name, value in before.items()
                                      if getattr(meeting, name) != value])
    # One insert per event (at most two): the live event needs their ids.
    created = [
        await TimelineEvent.create(meeting_id=meeting.id, kind=e.kind, label=e.label, at=now,
                                   actor=actor, starts_at=starts_at, reason=reason, note=note)
        for e in events
    ]
    await record_all([*outbox, meeting_change(meeting, created[-1].id if created else None)])
    return created


async def _move_credits(meeting: Meeting, before: State, after: State) -> None:
    if after.credit_status is before.credit_status:
        return
    price = meeting.price_credits
    if after.credit_status is CreditPaymentStatus.BLOCKED:
        await credits.block(meeting.user_id, price, meeting.id)
    elif after.credit_status is CreditPaymentStatus.RETURNED:
        await credits.return_blocked(meeting.user_id, price, meeting.id)
    elif after.credit_status is CreditPaymentStatus.PAID:
        await credits.capture(meeting.user_id, meeting.expert_id, price, meeting.id)


def _set_date(meeting: Meeting, starts_at: datetime) -> None:
    meeting.starts_at = starts_at
    meeting.ends_at = starts_at + timedelta(minutes=meeting.length_minutes)


def _move_dates(meeting: Meeting, rule: Rule, party: Party | None, new_date: datetime | None,
                now: datetime) -> datetime | None:
    """Applies the rule's alternative-date effect; returns the date its events speak of."""
    if rule.alternative is Alternative.PROPOSE:
        assert new_date is not None and party is not None
        meeting.alt_starts_at, meeting.alt_proposed_by, meeting.alt_proposed_at = (
            new_date, party, now)
        return new_date
    if rule.alternative is Alternative.APPLY:
        assert meeting.alt_starts_at is not None
        _set_date(meeting, meeting.alt_starts_at)
    elif rule.alternative is Alternative.REPLACE_DATE:
        assert new_date is not None
        _set_date(meeting, new_date)
    if rule.alternative is not Alternative.KEEP:
        meeting.alt_starts_at = meeting.alt_proposed_by = meeting.alt_proposed_at = None
    return meeting.starts_at


async def _plan_reminders(meeting: Meeting, plan: ReminderPlan | None, was_agreed: bool) -> None:
    if plan is None:
        return
    # Unsent reminders of any earlier date go; sent ones stay as the record of what was sent.
    # Only an AGREED meeting has unsent reminders (leaving AGREED drops them).
    if was_agreed:
        await Reminder.filter(meeting_id=meeting.id, sent_at__isnull=True).delete()
    if plan is ReminderPlan.PLAN:
        settings = get_settings()
        await Reminder.bulk_create([
            Reminder(meeting_id=meeting.id, kind=kind, starts_at=meeting.starts_at,
                     due_at=meeting.starts_at - timedelta(minutes=minutes))
            for kind, minutes in (
                (ReminderKind.REMINDER, settings.reminder_before_minutes),
                (ReminderKind.LINK, settings.link_before_minutes),
            )
        ])


def _conference(meeting: Meeting, rule: Rule) -> list[OutboxEntry]:
    """Sets the conference status; returns the job for the outbox."""
    if rule.conference_status is not None:
        meeting.conference_status = rule.conference_status
    job = rule.conference
    if job is None:
        return []
    if job is ConferenceJob.CREATE_OR_MOVE:
        if meeting.conference_status is not ConferenceStatus.CREATED:
            meeting.conference_status = ConferenceStatus.PENDING
            meeting.conference_provider = get_settings().conference_provider
        return [entry(OutboxKind.CONFERENCE, {"meeting_id": meeting.id, "op": "create_or_move"})]
    if meeting.conference_status in (ConferenceStatus.PENDING, ConferenceStatus.CREATED):
        meeting.conference_status = ConferenceStatus.CANCELLED
        return [entry(OutboxKind.CONFERENCE, {"meeting_id": meeting.id, "op": "delete"})]
    return []


async def apply_rule(
    meeting: Meeting,
    rule: Rule,
    party: Party | None,
    *,
    new_date: datetime | None = None,
    reason: Reason | None = None,
    note: str | None = None,
    late: bool = False,
    assign: Mapping[str, Any] | None = None,
    join_url: str | None = None,
) -> list[TimelineEvent]:
    """`assign`: columns the system's own data sets (a conference's URL and id);
    `join_url`: the link a notification carries (S4)."""
    now = clock.now()
    before_columns = columns(meeting)
    for name, value in (assign or {}).items():
        setattr(meeting, name, value)
    before = state_of(meeting)
    move = lifecycle.credit_move(rule, late=late,
                                 late_policy=get_settings().user_late_cancellation)
    after = lifecycle.next_state(rule, before, move, party)
    await _move_credits(meeting, before, after)
    event_date = _move_dates(meeting, rule, party, new_date, now)
    meeting.status = after.status
    meeting.approved_by_user = after.approved_by_user
    meeting.approved_by_expert = after.approved_by_expert
    meeting.credit_status = after.credit_status
    # The meeting keeps the reason that ended it; a reason given for rejecting only an
    # alternative date (A9′) stays on the timeline event.
    if rule.status is MeetingStatus.REJECTED:
        meeting.rejection_reason, meeting.rejection_note = reason, note
    elif rule.status is MeetingStatus.CANCELLED:
        meeting.cancellation_reason, meeting.cancellation_note = reason, note
    await _plan_reminders(meeting, rule.reminders, before.status is MeetingStatus.AGREED)
    outbox = _conference(meeting, rule)
    outbox += await _notify_parties(meeting, rule, party, join_url)
    return await record_change(meeting, before_columns, rule.events, actor=party,
                               starts_at=event_date, reason=reason, note=note, outbox=outbox)


async def _notify_parties(meeting: Meeting, rule: Rule, party: Party | None,
                          join_url: str | None) -> list[OutboxEntry]:
    recipients = lifecycle.recipients(rule, party)
    if rule.notify is None or not recipients:
        return []
    accounts = {a.id: a for a in await Account.filter(id__in=[meeting.user_id,
                                                               meeting.expert_id])}
    ids = {Party.USER: meeting.user_id, Party.EXPERT: meeting.expert_id}
    # A participant's notice speaks of the date proposed, when there is one; the system's of
    # the meeting's own date.
    when = meeting.starts_at if party is None else meeting.alt_starts_at or meeting.starts_at
    live = []
    for side in recipients:
        recipient, other = accounts[ids[side]], accounts[ids[side.other]]
        title, body = render(rule.notify, other=other.display_name, when=when,
                             timezone=recipient.timezone, join_url=join_url,
                             cancelled_by_expert=party is Party.EXPERT)
        _, event = await stored_notification(recipient.id, rule.notify, title, body,
                                             meeting.id)
        live.append(event)
    return live
