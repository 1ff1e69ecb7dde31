from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_timeline_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='BusyCalendar',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('expert', fields.ForeignKeyField('models.Account', source_field='expert_id', db_constraint=True, to_field='id', related_name='busy_calendars', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=255)),
                ('url', fields.CharField(max_length=2048)),
                ('etag', fields.CharField(null=True, max_length=255)),
                ('last_modified', fields.CharField(null=True, max_length=64)),
                ('last_fetched_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('parse_error', fields.TextField(null=True, unique=False)),
                ('expanded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_fetch_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'busy_calendar', 'app': 'models', 'indexes': [Index(fields=['next_fetch_at'], name='busy_calendar_due')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BusyInterval',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('calendar', fields.ForeignKeyField('models.BusyCalendar', source_field='calendar_id', db_constraint=True, to_field='id', related_name='intervals', on_delete=OnDelete.CASCADE)),
                ('expert', fields.ForeignKeyField('models.Account', source_field='expert_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'busy_interval', 'app': 'models', 'indexes': [Index(fields=['expert_id', 'starts_at'], name='busy_interval_expert'), Index(fields=['calendar_id', 'starts_at'], name='busy_interval_calendar')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CalendarFeed',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='calendar_feed', on_delete=OnDelete.CASCADE)),
                ('nonce', fields.CharField(max_length=64)),
                ('secret_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'calendar_feed', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
