"""Deliveries of notifications on other channels than in-app (e-mail), and the calendar
invite each meeting carries in those e-mails."""

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class DeliveryChannel(StrEnum):
    EMAIL = "EMAIL"


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # the recipient has no address


class NotificationDelivery(Model):
    # One notification on one channel: unique, so that it is sent at most once.
    # `next_attempt_at` is also the lease of the worker that is sending it.
    # (Comments, not docstrings: Tortoise turns docstrings into SQL comments.)

    id = fields.BigIntField(primary_key=True)
    notification: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Notification", related_name="deliveries"
    )
    channel = fields.CharEnumField(DeliveryChannel, max_length=16)
    status = fields.CharEnumField(DeliveryStatus, max_length=16)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField()

    notification_id: int

    class Meta:
        table = "notification_delivery"
        unique_together = (("notification", "channel"),)
        indexes = (Index(fields=("status", "next_attempt_at"), name="delivery_due"),)


class CalendarInvite(Model):
    # The iCalendar identity of a meeting: a stable UID and the SEQUENCE, raised on every
    # date change and on cancellation.

    id = fields.IntField(primary_key=True)
    meeting: fields.OneToOneRelation = fields.OneToOneField(
        "models.Meeting", related_name="calendar_invite"
    )
    uid = fields.CharField(max_length=255, unique=True)
    sequence = fields.IntField(default=0)
    starts_at = fields.DatetimeField()
    length_minutes = fields.IntField()
    cancelled = fields.BooleanField(default=False)

    meeting_id: int

    class Meta:
        table = "calendar_invite"
