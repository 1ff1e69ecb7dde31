"""In-app notifications, one row per recipient."""

from tortoise import fields
from tortoise.models import Model

from models.enums import NotificationKind


class Notification(Model):
    id = fields.IntField(primary_key=True)
    recipient: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="notifications"
    )
    kind = fields.CharEnumField(NotificationKind, max_length=48)
    title = fields.CharField(max_length=255)
    body = fields.TextField()
    meeting: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Meeting", related_name=False, null=True
    )
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    recipient_id: int
    meeting_id: int | None

    class Meta:
        table = "notification"
        indexes = (("recipient_id", "id"),)
