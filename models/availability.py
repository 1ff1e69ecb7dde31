"""An expert's free dates: weekly rules, date-specific free slots and blocked dates."""

from tortoise import fields
from tortoise.models import Model


class WeeklyRuleRow(Model):
    id = fields.IntField(primary_key=True)
    expert: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="weekly_rules"
    )
    weekday = fields.IntField(description="0 = Monday")
    start_minute = fields.IntField()
    end_minute = fields.IntField(description="up to 1440 (24:00)")

    expert_id: int

    class Meta:
        table = "weekly_rule"


class FreeDate(Model):
    id = fields.IntField(primary_key=True)
    expert: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="free_dates"
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()

    expert_id: int

    class Meta:
        table = "free_date"
        indexes = (("expert_id", "starts_at"),)


class BlockedDate(Model):
    id = fields.IntField(primary_key=True)
    expert: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="blocked_dates"
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()

    expert_id: int

    class Meta:
        table = "blocked_date"
        indexes = (("expert_id", "starts_at"),)
