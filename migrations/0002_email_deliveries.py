from tortoise import migrations
from tortoise.migrations import operations as ops

from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index
from enum import StrEnum

# The enums' values when this migration was written, frozen: a migration never follows
# models/ (a new member needs a migration of its own, which the migrations test asks for).
DeliveryChannel = StrEnum("DeliveryChannel", {"EMAIL": "EMAIL"})
DeliveryStatus = StrEnum("DeliveryStatus", {
    "PENDING": "PENDING",
    "SENT": "SENT",
    "FAILED": "FAILED",
    "SKIPPED": "SKIPPED",
})


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CalendarInvite',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.OneToOneField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='calendar_invite', on_delete=OnDelete.CASCADE)),
                ('uid', fields.CharField(unique=True, max_length=255)),
                ('sequence', fields.IntField(default=0)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('length_minutes', fields.IntField()),
                ('cancelled', fields.BooleanField(default=False)),
            ],
            options={'table': 'calendar_invite', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('notification', fields.ForeignKeyField('models.Notification', source_field='notification_id', db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.CASCADE)),
                ('channel', fields.CharEnumField(description='EMAIL: EMAIL', enum_type=DeliveryChannel, max_length=16)),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nSENT: SENT\nFAILED: FAILED\nSKIPPED: SKIPPED', enum_type=DeliveryStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification_delivery', 'app': 'models', 'unique_together': (('notification', 'channel'),), 'indexes': [Index(fields=['status', 'next_attempt_at'], name='delivery_due')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
