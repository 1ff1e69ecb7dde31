"""Idempotency keys: what a keyed mutation answered, kept per account for a day, so that a
retry of the same request returns that answer instead of applying the mutation again."""

from datetime import datetime

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class IdempotencyKey(Model):
    # Written in the mutation's own transaction, so it exists exactly when the mutation's
    # effects do. `request_hash` tells a retry from a different request reusing the key.
    # (Comments, not docstrings: Tortoise turns docstrings into SQL comments.)
    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="idempotency_keys")
    key = fields.CharField(max_length=255)
    request_hash = fields.CharField(max_length=64)
    response: dict = fields.JSONField()
    created_at = fields.DatetimeField()

    account_id: int

    class Meta:
        table = "idempotency_key"
        unique_together = (("account", "key"),)
        indexes = (Index(fields=("created_at",), name="idempotency_created"),)


async def forget_expired(before: datetime) -> int:
    """Deletes the keys recorded before `before` (their retries execute anew anyway)."""
    return await IdempotencyKey.filter(created_at__lt=before).delete()
