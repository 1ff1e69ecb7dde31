from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_email_deliveries')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='TimelineEvent',
            index=Index(fields=['meeting_id', 'id'], name='timeline_meeting'),
        ),
    ]
