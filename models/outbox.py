"""The transactional outbox: side effects written with the state change, delivered after."""

from tortoise import fields
from tortoise.models import Model

from models.enums import OutboxKind


class OutboxEntry(Model):
    # Live kinds are delivered when published. Kinds handed to the broker (CONFERENCE) are
    # delivered only when the job's effect is recorded, in the job's own transaction; until
    # then the row is owed, and `retry_at` says when it is next handed on: a lease after an
    # enqueue (the job may be lost with Redis), a backoff after a transient failure.
    # (Comments, not docstrings: Tortoise turns docstrings into SQL comments.)
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(OutboxKind, max_length=24)
    payload: dict = fields.JSONField()
    created_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    retry_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbox_entry"
        indexes = (("delivered_at", "id"),)
