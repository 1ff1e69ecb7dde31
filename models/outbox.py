"""The transactional outbox: side effects written with the state change, delivered after."""

from tortoise import fields
from tortoise.models import Model

from models.enums import OutboxKind


class OutboxEntry(Model):
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(OutboxKind, max_length=24)
    payload: dict = fields.JSONField()
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_entry"
        indexes = (("delivered_at", "id"),)
