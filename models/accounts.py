"""Accounts, expert profiles, skills and the services experts offer."""

from tortoise import fields
from tortoise.models import Model


class Account(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True, description="the JWT `sub`")
    display_name = fields.CharField(max_length=255)
    email = fields.CharField(max_length=320, default="")
    timezone = fields.CharField(max_length=64, default="UTC")
    is_admin = fields.BooleanField(default=False)
    # Balances live beside the ledger and change in the same transaction as its entries.
    credits_available = fields.IntField(default=0)
    credits_blocked = fields.IntField(default=0)
    created_at = fields.DatetimeField()

    class Meta:
        table = "account"


class Skill(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)

    class Meta:
        table = "skill"


class ExpertProfile(Model):
    # An own id, not the account as primary key: Tortoise cannot build the skills
    # many-to-many table on a one-to-one primary key.
    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="expert_profile"
    )
    headline = fields.CharField(max_length=255, null=True)
    # The zone the weekly rules are written in; need not be the account's own.
    availability_timezone = fields.CharField(max_length=64, default="UTC")
    skills: fields.ManyToManyRelation[Skill] = fields.ManyToManyField(
        "models.Skill", related_name="experts", through="expert_profile_skill"
    )

    account_id: int

    class Meta:
        table = "expert_profile"


class ExpertService(Model):
    id = fields.IntField(primary_key=True)
    expert: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="services"
    )
    title = fields.CharField(max_length=255)
    description = fields.TextField(null=True)
    length_minutes = fields.IntField()
    price_credits = fields.IntField()
    active = fields.BooleanField(default=True)
    skills: fields.ManyToManyRelation[Skill] = fields.ManyToManyField(
        "models.Skill", related_name="services", through="expert_service_skill"
    )
    created_at = fields.DatetimeField()

    expert_id: int

    class Meta:
        table = "expert_service"
