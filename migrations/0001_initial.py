from tortoise import migrations
from tortoise.migrations import operations as ops

from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index
from enum import StrEnum

# The enums' values when this migration was written, frozen: a migration never follows
# models/ (a new member needs a migration of its own, which the migrations test asks for).
ConferenceStatus = StrEnum("ConferenceStatus", {
    "PENDING": "PENDING",
    "CREATED": "CREATED",
    "FAILED": "FAILED",
    "CANCELLED": "CANCELLED",
})
CreditEntryKind = StrEnum("CreditEntryKind", {
    "GRANT": "GRANT",
    "BLOCK": "BLOCK",
    "RETURN": "RETURN",
    "CAPTURE": "CAPTURE",
})
CreditPaymentStatus = StrEnum("CreditPaymentStatus", {
    "NONE": "NONE",
    "BLOCKED": "BLOCKED",
    "RETURNED": "RETURNED",
    "PAID": "PAID",
})
MeetingStatus = StrEnum("MeetingStatus", {
    "AWAITING_APPROVAL": "AWAITING_APPROVAL",
    "AGREED": "AGREED",
    "REJECTED": "REJECTED",
    "CANCELLED": "CANCELLED",
    "COMPLETED": "COMPLETED",
    "EXPIRED": "EXPIRED",
})
MessageKind = StrEnum("MessageKind", {"TEXT": "TEXT", "MEETING_PROPOSAL": "MEETING_PROPOSAL"})
NotificationKind = StrEnum("NotificationKind", {
    "MEETING_REQUESTED": "MEETING_REQUESTED",
    "EXPERT_MEETING_INVITATION": "EXPERT_MEETING_INVITATION",
    "MEETING_CONFIRMED": "MEETING_CONFIRMED",
    "MEETING_DECLINED": "MEETING_DECLINED",
    "MEETING_CANCELLED": "MEETING_CANCELLED",
    "RESCHEDULED_REJECTED_BY_EXPERT": "RESCHEDULED_REJECTED_BY_EXPERT",
    "RESCHEDULED_AGREED_BY_EXPERT": "RESCHEDULED_AGREED_BY_EXPERT",
    "ALTERNATIVE_DATE_PROPOSED": "ALTERNATIVE_DATE_PROPOSED",
    "ALTERNATIVE_DATE_CONFIRMED": "ALTERNATIVE_DATE_CONFIRMED",
    "ALTERNATIVE_DATE_REJECTED": "ALTERNATIVE_DATE_REJECTED",
    "MEETING_REMINDER": "MEETING_REMINDER",
    "MEETING_LINK": "MEETING_LINK",
    "CONFERENCE_FAILED": "CONFERENCE_FAILED",
    "MEETING_EXPIRED": "MEETING_EXPIRED",
    "NEW_MESSAGE": "NEW_MESSAGE",
})
OutboxKind = StrEnum("OutboxKind", {
    "MEETING_CHANGED": "MEETING_CHANGED",
    "NOTIFICATION": "NOTIFICATION",
    "MESSAGE_ADDED": "MESSAGE_ADDED",
    "CONFERENCE": "CONFERENCE",
})
Party = StrEnum("Party", {"USER": "USER", "EXPERT": "EXPERT"})
ReasonKind = StrEnum("ReasonKind", {"REJECTION": "REJECTION", "CANCELLATION": "CANCELLATION"})
ReminderKind = StrEnum("ReminderKind", {"REMINDER": "REMINDER", "LINK": "LINK"})
TimelineEventKind = StrEnum("TimelineEventKind", {
    "REQUESTED_BY_USER": "REQUESTED_BY_USER",
    "APPROVED_BY_USER": "APPROVED_BY_USER",
    "REJECTED_BY_USER": "REJECTED_BY_USER",
    "CANCELLED_BY_USER": "CANCELLED_BY_USER",
    "ALTERNATIVE_DATE_SELECTED_BY_USER": "ALTERNATIVE_DATE_SELECTED_BY_USER",
    "ALTERNATIVE_DATE_APPROVED_BY_USER": "ALTERNATIVE_DATE_APPROVED_BY_USER",
    "ALTERNATIVE_DATE_REJECTED_BY_USER": "ALTERNATIVE_DATE_REJECTED_BY_USER",
    "ALTERNATIVE_DATE_CANCELLED_BY_USER": "ALTERNATIVE_DATE_CANCELLED_BY_USER",
    "APPROVED_BY_EXPERT": "APPROVED_BY_EXPERT",
    "REJECTED_BY_EXPERT": "REJECTED_BY_EXPERT",
    "CANCELLED_BY_EXPERT": "CANCELLED_BY_EXPERT",
    "ALTERNATIVE_DATE_SELECTED_BY_EXPERT": "ALTERNATIVE_DATE_SELECTED_BY_EXPERT",
    "ALTERNATIVE_DATE_APPROVED_BY_EXPERT": "ALTERNATIVE_DATE_APPROVED_BY_EXPERT",
    "ALTERNATIVE_DATE_REJECTED_BY_EXPERT": "ALTERNATIVE_DATE_REJECTED_BY_EXPERT",
    "ALTERNATIVE_DATE_CANCELLED_BY_EXPERT": "ALTERNATIVE_DATE_CANCELLED_BY_EXPERT",
    "CONFERENCE_CREATED": "CONFERENCE_CREATED",
    "CONFERENCE_FAILED": "CONFERENCE_FAILED",
    "CONFERENCE_CANCELLED": "CONFERENCE_CANCELLED",
    "REMINDER_SENT": "REMINDER_SENT",
    "LINK_SENT": "LINK_SENT",
    "COMPLETED": "COMPLETED",
    "EXPIRED": "EXPIRED",
})


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, description='the JWT `sub`', max_length=255)),
                ('display_name', fields.CharField(max_length=255)),
                ('email', fields.CharField(default='', max_length=320)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('is_admin', fields.BooleanField(default=False)),
                ('credits_available', fields.IntField(default=0)),
                ('credits_blocked', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'account', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BlockedDate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('expert', fields.ForeignKeyField('models.Account', source_field='expert_id', db_constraint=True, to_field='id', related_name='blocked_dates', on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'blocked_date', 'app': 'models', 'indexes': [Index(fields=['expert_id', 'starts_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_low', fields.ForeignKeyField('models.Account', source_field='account_low_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('account_high', fields.ForeignKeyField('models.Account', source_field='account_high_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('last_message_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'conversation', 'app': 'models', 'unique_together': (('account_low', 'account_high'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='FreeDate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('expert', fields.ForeignKeyField('models.Account', source_field='expert_id', db_constraint=True, to_field='id', related_name='free_dates', on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'free_date', 'app': 'models', 'indexes': [Index(fields=['expert_id', 'starts_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OutboxEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='MEETING_CHANGED: MEETING_CHANGED\nNOTIFICATION: NOTIFICATION\nMESSAGE_ADDED: MESSAGE_ADDED\nCONFERENCE: CONFERENCE', enum_type=OutboxKind, max_length=24)),
                ('payload', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'outbox_entry', 'app': 'models', 'indexes': [Index(fields=['delivered_at', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reason',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='REJECTION: REJECTION\nCANCELLATION: CANCELLATION', enum_type=ReasonKind, max_length=16)),
                ('code', fields.CharField(max_length=64)),
                ('label', fields.CharField(max_length=255)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'reason', 'app': 'models', 'unique_together': (('kind', 'code'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Skill',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=100)),
            ],
            options={'table': 'skill', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ExpertProfile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.OneToOneField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='expert_profile', on_delete=OnDelete.CASCADE)),
                ('headline', fields.CharField(null=True, max_length=255)),
                ('availability_timezone', fields.CharField(default='UTC', max_length=64)),
                ('skills', fields.ManyToManyField('models.Skill', unique=True, db_constraint=True, through='expert_profile_skill', forward_key='skill_id', backward_key='expert_profile_id', related_name='experts', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'expert_profile', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ExpertService',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('expert', fields.ForeignKeyField('models.Account', source_field='expert_id', db_constraint=True, to_field='id', related_name='services', on_delete=OnDelete.CASCADE)),
                ('title', fields.CharField(max_length=255)),
                ('description', fields.TextField(null=True, unique=False)),
                ('length_minutes', fields.IntField()),
                ('price_credits', fields.IntField()),
                ('active', fields.BooleanField(default=True)),
                ('skills', fields.ManyToManyField('models.Skill', unique=True, db_constraint=True, through='expert_service_skill', forward_key='skill_id', backward_key='expert_service_id', related_name='services', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'expert_service', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Meeting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.Account', source_field='user_id', db_constraint=True, to_field='id', related_name='meetings_as_user', on_delete=OnDelete.CASCADE)),
                ('expert', fields.ForeignKeyField('models.Account', source_field='expert_id', db_constraint=True, to_field='id', related_name='meetings_as_expert', on_delete=OnDelete.CASCADE)),
                ('service', fields.ForeignKeyField('models.ExpertService', source_field='service_id', db_constraint=True, to_field='id', related_name='meetings', on_delete=OnDelete.CASCADE)),
                ('skill', fields.ForeignKeyField('models.Skill', source_field='skill_id', db_constraint=True, to_field='id', related_name='meetings', on_delete=OnDelete.CASCADE)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('length_minutes', fields.IntField()),
                ('price_credits', fields.IntField()),
                ('status', fields.CharEnumField(description='AWAITING_APPROVAL: AWAITING_APPROVAL\nAGREED: AGREED\nREJECTED: REJECTED\nCANCELLED: CANCELLED\nCOMPLETED: COMPLETED\nEXPIRED: EXPIRED', enum_type=MeetingStatus, max_length=24)),
                ('approved_by_user', fields.BooleanField(default=False)),
                ('approved_by_expert', fields.BooleanField(default=False)),
                ('created_by', fields.CharEnumField(description='USER: USER\nEXPERT: EXPERT', enum_type=Party, max_length=8)),
                ('alt_starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('alt_proposed_by', fields.CharEnumField(null=True, description='USER: USER\nEXPERT: EXPERT', enum_type=Party, max_length=8)),
                ('alt_proposed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('credit_status', fields.CharEnumField(description='NONE: NONE\nBLOCKED: BLOCKED\nRETURNED: RETURNED\nPAID: PAID', enum_type=CreditPaymentStatus, max_length=16)),
                ('rejection_reason', fields.ForeignKeyField('models.Reason', source_field='rejection_reason_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('rejection_note', fields.TextField(null=True, unique=False)),
                ('cancellation_reason', fields.ForeignKeyField('models.Reason', source_field='cancellation_reason_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('cancellation_note', fields.TextField(null=True, unique=False)),
                ('conference_provider', fields.CharField(null=True, max_length=32)),
                ('conference_status', fields.CharEnumField(null=True, description='PENDING: PENDING\nCREATED: CREATED\nFAILED: FAILED\nCANCELLED: CANCELLED', enum_type=ConferenceStatus, max_length=16)),
                ('conference_join_url', fields.CharField(null=True, max_length=1024)),
                ('conference_external_id', fields.CharField(null=True, max_length=255)),
                ('version', fields.IntField(default=1)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'meeting', 'app': 'models', 'indexes': [Index(fields=['expert_id', 'starts_at'], name='meeting_expert_start'), Index(fields=['user_id', 'starts_at'], name='meeting_user_start'), Index(fields=['status', 'starts_at'], name='meeting_status_start')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CreditEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='credit_entries', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='GRANT: GRANT\nBLOCK: BLOCK\nRETURN: RETURN\nCAPTURE: CAPTURE', enum_type=CreditEntryKind, max_length=16)),
                ('available_delta', fields.IntField()),
                ('blocked_delta', fields.IntField()),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('reference', fields.CharField(null=True, unique=True, max_length=255)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'credit_entry', 'app': 'models', 'indexes': [Index(fields=['account_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('conversation', fields.ForeignKeyField('models.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.Account', source_field='author_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='TEXT: TEXT\nMEETING_PROPOSAL: MEETING_PROPOSAL', enum_type=MessageKind, max_length=24)),
                ('body', fields.TextField(unique=False)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'message', 'app': 'models', 'indexes': [Index(fields=['conversation_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('models.Account', source_field='recipient_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='MEETING_REQUESTED: MEETING_REQUESTED\nEXPERT_MEETING_INVITATION: EXPERT_MEETING_INVITATION\nMEETING_CONFIRMED: MEETING_CONFIRMED\nMEETING_DECLINED: MEETING_DECLINED\nMEETING_CANCELLED: MEETING_CANCELLED\nRESCHEDULED_REJECTED_BY_EXPERT: RESCHEDULED_REJECTED_BY_EXPERT\nRESCHEDULED_AGREED_BY_EXPERT: RESCHEDULED_AGREED_BY_EXPERT\nALTERNATIVE_DATE_PROPOSED: ALTERNATIVE_DATE_PROPOSED\nALTERNATIVE_DATE_CONFIRMED: ALTERNATIVE_DATE_CONFIRMED\nALTERNATIVE_DATE_REJECTED: ALTERNATIVE_DATE_REJECTED\nMEETING_REMINDER: MEETING_REMINDER\nMEETING_LINK: MEETING_LINK\nCONFERENCE_FAILED: CONFERENCE_FAILED\nMEETING_EXPIRED: MEETING_EXPIRED\nNEW_MESSAGE: NEW_MESSAGE', enum_type=NotificationKind, max_length=48)),
                ('title', fields.CharField(max_length=255)),
                ('body', fields.TextField(unique=False)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['recipient_id', 'id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reminder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='reminders', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='REMINDER: REMINDER\nLINK: LINK', enum_type=ReminderKind, max_length=16)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reminder', 'app': 'models', 'unique_together': (('meeting', 'kind', 'starts_at'),), 'indexes': [Index(fields=['sent_at', 'due_at'], name='reminder_due')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TimelineEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('meeting', fields.ForeignKeyField('models.Meeting', source_field='meeting_id', db_constraint=True, to_field='id', related_name='timeline', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='REQUESTED_BY_USER: REQUESTED_BY_USER\nAPPROVED_BY_USER: APPROVED_BY_USER\nREJECTED_BY_USER: REJECTED_BY_USER\nCANCELLED_BY_USER: CANCELLED_BY_USER\nALTERNATIVE_DATE_SELECTED_BY_USER: ALTERNATIVE_DATE_SELECTED_BY_USER\nALTERNATIVE_DATE_APPROVED_BY_USER: ALTERNATIVE_DATE_APPROVED_BY_USER\nALTERNATIVE_DATE_REJECTED_BY_USER: ALTERNATIVE_DATE_REJECTED_BY_USER\nALTERNATIVE_DATE_CANCELLED_BY_USER: ALTERNATIVE_DATE_CANCELLED_BY_USER\nAPPROVED_BY_EXPERT: APPROVED_BY_EXPERT\nREJECTED_BY_EXPERT: REJECTED_BY_EXPERT\nCANCELLED_BY_EXPERT: CANCELLED_BY_EXPERT\nALTERNATIVE_DATE_SELECTED_BY_EXPERT: ALTERNATIVE_DATE_SELECTED_BY_EXPERT\nALTERNATIVE_DATE_APPROVED_BY_EXPERT: ALTERNATIVE_DATE_APPROVED_BY_EXPERT\nALTERNATIVE_DATE_REJECTED_BY_EXPERT: ALTERNATIVE_DATE_REJECTED_BY_EXPERT\nALTERNATIVE_DATE_CANCELLED_BY_EXPERT: ALTERNATIVE_DATE_CANCELLED_BY_EXPERT\nCONFERENCE_CREATED: CONFERENCE_CREATED\nCONFERENCE_FAILED: CONFERENCE_FAILED\nCONFERENCE_CANCELLED: CONFERENCE_CANCELLED\nREMINDER_SENT: REMINDER_SENT\nLINK_SENT: LINK_SENT\nCOMPLETED: COMPLETED\nEXPIRED: EXPIRED', enum_type=TimelineEventKind, max_length=48)),
                ('label', fields.CharField(max_length=255)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('actor', fields.CharEnumField(null=True, description='USER: USER\nEXPERT: EXPERT', enum_type=Party, max_length=8)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reason', fields.ForeignKeyField('models.Reason', source_field='reason_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('note', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'timeline_event', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WeeklyRuleRow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('expert', fields.ForeignKeyField('models.Account', source_field='expert_id', db_constraint=True, to_field='id', related_name='weekly_rules', on_delete=OnDelete.CASCADE)),
                ('weekday', fields.IntField(description='0 = Monday')),
                ('start_minute', fields.IntField()),
                ('end_minute', fields.IntField(description='up to 1440 (24:00)')),
            ],
            options={'table': 'weekly_rule', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
