"""Meetings, their timeline, reasons and planned reminders."""

from datetime import datetime, timedelta
from typing import Protocol

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.enums import (
    ConferenceStatus,
    CreditPaymentStatus,
    MeetingStatus,
    Party,
    ReasonKind,
    ReminderKind,
    TimelineEventKind,
)


class Reason(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ReasonKind, max_length=16)
    code = fields.CharField(max_length=64)
    label = fields.CharField(max_length=255)
    position = fields.IntField(default=0)

    class Meta:
        table = "reason"
        unique_together = (("kind", "code"),)


class MeetingColumns(Protocol):
    """What the read helpers below need of a meeting."""

    alt_starts_at: datetime | None
    length_minutes: int
    user_id: int
    expert_id: int


class Meeting(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="meetings_as_user"
    )
    expert: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="meetings_as_expert"
    )
    service: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.ExpertService", related_name="meetings"
    )
    skill: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Skill", related_name="meetings"
    )
    starts_at = fields.DatetimeField()
    # Stored, not derived, so that overlap and "upcoming" filters can use an index.
    ends_at = fields.DatetimeField()
    length_minutes = fields.IntField()
    price_credits = fields.IntField()
    status = fields.CharEnumField(MeetingStatus, max_length=24)
    approved_by_user = fields.BooleanField(default=False)
    approved_by_expert = fields.BooleanField(default=False)
    created_by = fields.CharEnumField(Party, max_length=8)
    alt_starts_at = fields.DatetimeField(null=True)
    alt_proposed_by: Party | None = fields.CharEnumField(Party, max_length=8, null=True)  # type: ignore[assignment]
    alt_proposed_at = fields.DatetimeField(null=True)
    credit_status = fields.CharEnumField(CreditPaymentStatus, max_length=16)
    rejection_reason: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Reason", related_name=False, null=True
    )
    rejection_note: str | None = fields.TextField(null=True)
    cancellation_reason: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Reason", related_name=False, null=True
    )
    cancellation_note: str | None = fields.TextField(null=True)
    conference_provider = fields.CharField(max_length=32, null=True)
    conference_status = fields.CharEnumField(ConferenceStatus, max_length=16, null=True)
    conference_join_url = fields.CharField(max_length=1024, null=True)
    conference_external_id = fields.CharField(max_length=255, null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    user_id: int
    expert_id: int
    service_id: int
    skill_id: int
    rejection_reason_id: int | None
    cancellation_reason_id: int | None

    class Meta:
        table = "meeting"
        indexes = (
            Index(fields=("expert_id", "starts_at"), name="meeting_expert_start"),
            Index(fields=("user_id", "starts_at"), name="meeting_user_start"),
            Index(fields=("status", "starts_at"), name="meeting_status_start"),
        )

    # `self` is any object with a meeting's columns: models/rows.py's MeetingRow borrows these.
    def alt_ends_at(self: "MeetingColumns") -> datetime | None:
        if self.alt_starts_at is None:
            return None
        return self.alt_starts_at + timedelta(minutes=self.length_minutes)

    def party_of(self: "MeetingColumns", account_id: int) -> Party | None:
        if account_id == self.user_id:
            return Party.USER
        if account_id == self.expert_id:
            return Party.EXPERT
        return None


class TimelineEvent(Model):
    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="timeline"
    )
    kind = fields.CharEnumField(TimelineEventKind, max_length=48)
    # The label is stored because the SPEC gives one kind two labels ("Expert Approval" on a
    # confirmation, "Expert approval" on a proposal).
    label = fields.CharField(max_length=255)
    at = fields.DatetimeField()
    actor = fields.CharEnumField(Party, max_length=8, null=True)
    starts_at = fields.DatetimeField(null=True)
    reason: fields.ForeignKeyNullableRelation[Reason] = fields.ForeignKeyField(
        "models.Reason", related_name=False, null=True
    )
    note = fields.TextField(null=True)

    meeting_id: int
    reason_id: int | None

    class Meta:
        table = "timeline_event"
        # A meeting's timeline is read on every list page (one query per page); PostgreSQL
        # does not index a foreign key by itself.
        indexes = (Index(fields=("meeting_id", "id"), name="timeline_meeting"),)


class Reminder(Model):
    # One planned reminder, unique per (meeting, kind, starts_at) so it is sent at most once.
    # (A comment, not a docstring: Tortoise turns docstrings into SQL comments.)

    id = fields.IntField(primary_key=True)
    meeting: fields.ForeignKeyRelation[Meeting] = fields.ForeignKeyField(
        "models.Meeting", related_name="reminders"
    )
    kind = fields.CharEnumField(ReminderKind, max_length=16)
    starts_at = fields.DatetimeField()
    due_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)

    meeting_id: int

    class Meta:
        table = "reminder"
        unique_together = (("meeting", "kind", "starts_at"),)
        indexes = (Index(fields=("sent_at", "due_at"), name="reminder_due"),)
