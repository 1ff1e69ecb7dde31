"""Applying one lifecycle rule to a locked meeting: state, credits, timeline, notifications,
reminder plan, conference job and live event, all in the caller's transaction.

Participant actions, creations and system actions (S1–S6) all come through `apply_rule`,
and every change to a meeting is written by `record_change`, so a rule's effects are written
in exactly one place.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from core import clock
from core.db import is_postgres
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
from models.meetings import Meeting, Reminder, TimelineEvent
from models.notifications import Notification
from models.outbox import OutboxEntry
from models.texts import render
from resolvers.one_statement import Statement
from resolvers.outbox import entry, meeting_change, notification, notification_event, record_all
from resolvers.prepared import Read


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
    reason_id: int | None = None,
    note: str | None = None,
    outbox: Sequence[OutboxEntry] = (),
    notifications: Sequence[Notification] = (),
    moves: Sequence[credits.Move] = (),
    rows: Sequence[Model] = (),
    reads: Sequence[Read] = (),
) -> list[list[Any]]:
    """Records one change of a meeting: its balance `moves` and their ledger entries
    (raising a move's refusal when a balance would go below zero), version + 1, only the
    columns that changed since `before` are written, `rows` (its reminders), the
    notifications, the timeline events and the live events: `outbox`, then one per
    notification, then the meeting's (in one insert, so that ids keep the causal order).
    All but the meeting arrive unsaved; on PostgreSQL all of it is one statement
    (`_write_at_once`; a refusal then comes after the writes, undone with the transaction
    or savepoint the error ends, as every caller's is).

    `reads`: flat value queries that do not read what the change writes (the meeting's
    conflicts), run with it; their results are returned, in order."""
    now = clock.now()
    meeting.version += 1
    meeting.updated_at = now
    changed = [name for name, value in before.items() if getattr(meeting, name) != value]
    timeline = [TimelineEvent(meeting_id=meeting.id, kind=e.kind, label=e.label, at=now,
                              actor=actor, starts_at=starts_at, reason_id=reason_id, note=note)
                for e in events]
    client = connections.get("default")
    rows = [*(move.entry for move in moves), *rows]
    if is_postgres(client):
        return await _write_at_once(client, meeting, changed, moves, rows, notifications,
                                    timeline, outbox, reads)
    await credits.apply(moves)
    for group in _by_model(rows):
        await type(group[0]).bulk_create(group)
    for written in notifications:
        await written.save()
    await meeting.save(update_fields=changed)
    for event in timeline:  # one at a time: the live event names the last one's id
        await event.save()
    await record_all([*outbox, *(notification_event(n) for n in notifications),
                      meeting_change(meeting, timeline[-1].id if timeline else None)])
    return [list(await query.build(**values)) for query, values in reads]


async def _write_at_once(client: BaseDBAsyncClient, meeting: Meeting, changed: list[str],
                         moves: Sequence[credits.Move], rows: Sequence[Model],
                         notifications: Sequence[Notification],
                         timeline: list[TimelineEvent], outbox: Sequence[OutboxEntry],
                         reads: Sequence[Read]) -> list[list[Any]]:
    """`record_change`'s writes and reads as one statement: the outbox rows take the ids
    of the notifications and of the last timeline event from the statement's own parts."""
    statement = Statement()
    # Two parts updating one row would make only one of the changes: a change moves the
    # credits of its two parties, never twice those of one (nobody books themselves).
    assert len({move.entry.account_id for move in moves}) == len(moves)
    columns = [f'(SELECT count(*) FROM {_balance_update(statement, i, move)}) AS "moved_{i}"'
               for i, move in enumerate(moves)]
    statement.update("meeting", meeting, changed)
    for group in _by_model(rows):
        statement.insert(group[0]._meta.db_table, group)
    live = list(outbox)
    around: dict[tuple[int, str], str] = {}
    for i, unsaved in enumerate(notifications):
        written = statement.insert(f"notification_{i}", [unsaved], returning='"id"')
        around[len(live), "payload"] = _with_id("notification_id", f'SELECT "id" FROM {written}')
        live.append(notification_event(unsaved))
    columns += [f'ARRAY({statement.read(client, query, **values)}) AS "read_{i}"'
                for i, (query, values) in enumerate(reads)]
    if timeline:
        written = statement.insert("timeline", timeline, returning='"id"')
        around[len(live), "payload"] = _with_id("event_id", f'SELECT max("id") FROM {written}')
        columns.append(f'ARRAY(SELECT "id" FROM {written} ORDER BY "id") AS "timeline"')
    live.append(meeting_change(meeting, None))
    statement.insert("outbox", live, around=around)
    select = f"SELECT {', '.join(columns) or 'NULL'}"
    found = (await client.execute_query_dict(statement.sql(select), statement.values))[0]
    for i, move in enumerate(moves):
        if not found[f"moved_{i}"]:
            raise move.refused
    for event, event_id in zip(timeline, found.get("timeline", []), strict=True):
        event.id = event_id  # ids in list order
        event._saved_in_db = True
    return [list(found[f"read_{i}"]) for i in range(len(reads))]


def _balance_update(statement: Statement, i: int, move: credits.Move) -> str:
    """`credits.apply`'s UPDATE of one move, as a part of the statement (one row when made)."""
    deltas = move.deltas()
    changes = ", ".join(f'"{column}"="{column}"+{statement.param(delta)}'
                        for column, delta in deltas.items())
    at_least = "".join(f' AND "{column}">={statement.param(-delta)}'
                       for column, delta in deltas.items() if delta < 0)
    return statement.add(f"move_{i}", f'UPDATE "{Account._meta.db_table}" SET {changes} '
                                      f'WHERE "id"={statement.param(move.entry.account_id)}'
                                      f"{at_least} RETURNING 1")


def _by_model(rows: Sequence[Model]) -> list[list[Model]]:
    """`rows` grouped by model (one insert each), in the order given."""
    groups: dict[type[Model], list[Model]] = {}
    for row in rows:
        groups.setdefault(type(row), []).append(row)
    return list(groups.values())


def _with_id(key: str, subquery: str) -> str:
    """An outbox payload (its parameter `{}`) with `key` set to an id the statement wrote."""
    return f"({{}}::jsonb || jsonb_build_object('{key}', ({subquery})))"


def _move_credits(meeting: Meeting, before: State, after: State) -> list[credits.Move]:
    """The balance moves of the change (made by `record_change`)."""
    if after.credit_status is before.credit_status:
        return []
    price = meeting.price_credits
    if after.credit_status is CreditPaymentStatus.BLOCKED:
        return credits.block(meeting.user_id, price, meeting.id)
    if after.credit_status is CreditPaymentStatus.RETURNED:
        return credits.return_blocked(meeting.user_id, price, meeting.id)
    if after.credit_status is CreditPaymentStatus.PAID:
        return credits.capture(meeting.user_id, meeting.expert_id, price, meeting.id)
    return []


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


async def _plan_reminders(meeting: Meeting, plan: ReminderPlan | None,
                          was_agreed: bool) -> list[Reminder]:
    """The reminders to write with the change (those of an earlier date are deleted now)."""
    if plan is None:
        return []
    # Unsent reminders of any earlier date go; sent ones stay as the record of what was sent.
    # Only an AGREED meeting has unsent reminders (leaving AGREED drops them).
    if was_agreed:
        await Reminder.filter(meeting_id=meeting.id, sent_at__isnull=True).delete()
    if plan is not ReminderPlan.PLAN:
        return []
    settings = get_settings()
    return [
        Reminder(meeting_id=meeting.id, kind=kind, starts_at=meeting.starts_at,
                 due_at=meeting.starts_at - timedelta(minutes=minutes))
        for kind, minutes in (
            (ReminderKind.REMINDER, settings.reminder_before_minutes),
            (ReminderKind.LINK, settings.link_before_minutes),
        )
    ]


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
    reason_id: int | None = None,
    note: str | None = None,
    late: bool = False,
    assign: Mapping[str, Any] | None = None,
    join_url: str | None = None,
    reads: Callable[[Meeting], Sequence[Read]] | None = None,
) -> list[list[Any]]:
    """`assign`: columns the system's own data sets (a conference's URL and id);
    `join_url`: the link a notification carries (S4); `reads`: queries about the changed
    meeting run with its writes (`record_change`), whose results are returned."""
    now = clock.now()
    before_columns = columns(meeting)
    for name, value in (assign or {}).items():
        setattr(meeting, name, value)
    before = state_of(meeting)
    move = lifecycle.credit_move(rule, late=late,
                                 late_policy=get_settings().user_late_cancellation)
    after = lifecycle.next_state(rule, before, move, party)
    moves = _move_credits(meeting, before, after)
    event_date = _move_dates(meeting, rule, party, new_date, now)
    meeting.status = after.status
    meeting.approved_by_user = after.approved_by_user
    meeting.approved_by_expert = after.approved_by_expert
    meeting.credit_status = after.credit_status
    # The meeting keeps the reason that ended it; a reason given for rejecting only an
    # alternative date (A9′) stays on the timeline event.
    if rule.status is MeetingStatus.REJECTED:
        meeting.rejection_reason_id, meeting.rejection_note = reason_id, note
    elif rule.status is MeetingStatus.CANCELLED:
        meeting.cancellation_reason_id, meeting.cancellation_note = reason_id, note
    reminders = await _plan_reminders(meeting, rule.reminders,
                                      before.status is MeetingStatus.AGREED)
    outbox = _conference(meeting, rule)
    notifications = await _notify_parties(meeting, rule, party, join_url)
    return await record_change(meeting, before_columns, rule.events, actor=party,
                               starts_at=event_date, reason_id=reason_id, note=note, outbox=outbox,
                               notifications=notifications, moves=moves, rows=reminders,
                               reads=reads(meeting) if reads is not None else ())


async def _parties(meeting: Meeting) -> list[Account]:
    """The meeting's two accounts, as loaded with it when they were (access.meeting_for_update)."""
    loaded = [meeting.user, meeting.expert]
    if all(isinstance(account, Account) for account in loaded):
        return cast(list[Account], loaded)
    return await Account.filter(id__in=[meeting.user_id, meeting.expert_id])


async def _notify_parties(meeting: Meeting, rule: Rule, party: Party | None,
                          join_url: str | None) -> list[Notification]:
    """The notifications of the rule, not yet written."""
    recipients = lifecycle.recipients(rule, party)
    if rule.notify is None or not recipients:
        return []
    accounts = {a.id: a for a in await _parties(meeting)}
    ids = {Party.USER: meeting.user_id, Party.EXPERT: meeting.expert_id}
    # A participant's notice speaks of the date proposed, when there is one; the system's of
    # the meeting's own date.
    when = meeting.starts_at if party is None else meeting.alt_starts_at or meeting.starts_at
    notifications = []
    for side in recipients:
        recipient, other = accounts[ids[side]], accounts[ids[side.other]]
        title, body = render(rule.notify, other=other.display_name, when=when,
                             timezone=recipient.timezone, join_url=join_url,
                             cancelled_by_expert=party is Party.EXPERT)
        notifications.append(notification(recipient.id, rule.notify, title, body,
                                          meeting.id))
    return notifications
