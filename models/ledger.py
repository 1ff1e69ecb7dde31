"""The append-only credit ledger."""

from tortoise import fields
from tortoise.models import Model

from models.enums import CreditEntryKind


class CreditEntry(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="credit_entries"
    )
    kind = fields.CharEnumField(CreditEntryKind, max_length=16)
    available_delta = fields.IntField()
    blocked_delta = fields.IntField()
    meeting: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Meeting", related_name=False, null=True
    )
    # Set on GRANT entries only; unique, so a repeated grant cannot credit twice.
    reference = fields.CharField(max_length=255, null=True, unique=True)
    created_at = fields.DatetimeField()

    account_id: int
    meeting_id: int | None

    class Meta:
        table = "credit_entry"
        indexes = (("account_id", "id"),)
