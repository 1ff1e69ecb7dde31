"""Conversations (one per pair of accounts) and their messages."""

from tortoise import fields
from tortoise.models import Model

from models.enums import MessageKind


class Conversation(Model):
    id = fields.IntField(primary_key=True)
    # The pair is stored ordered (low id first) so that the unique key finds it either way.
    account_low: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name=False
    )
    account_high: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name=False
    )
    last_message_at = fields.DatetimeField(null=True)  # the creation time until a message
    created_at = fields.DatetimeField()

    account_low_id: int
    account_high_id: int

    class Meta:
        table = "conversation"
        unique_together = (("account_low", "account_high"),)

    @property
    def participant_ids(self) -> tuple[int, int]:
        return (self.account_low_id, self.account_high_id)


class Message(Model):
    id = fields.IntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "models.Conversation", related_name="messages"
    )
    author: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name=False
    )
    kind = fields.CharEnumField(MessageKind, max_length=24)
    body = fields.TextField()
    meeting: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Meeting", related_name=False, null=True
    )
    created_at = fields.DatetimeField()

    conversation_id: int
    author_id: int
    meeting_id: int | None

    class Meta:
        table = "message"
        indexes = (("conversation_id", "id"),)
