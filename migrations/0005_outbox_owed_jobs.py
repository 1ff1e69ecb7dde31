from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0004_calendars')]

    initial = False

    operations = [
        ops.AddField(model_name='OutboxEntry', name='attempts', field=fields.IntField(default=0)),
        ops.AddField(model_name='OutboxEntry', name='retry_at',
                     field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
    ]
