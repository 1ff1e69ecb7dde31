"""Calendar interop rows: an account's private feed of its meetings (export), and the
expert's own calendars whose busy times are not bookable here (import)."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class CalendarFeed(Model):
    # One per account. The URL's secret is never stored: only its SHA-256 (looked up on GET)
    # and the random nonce it is derived from with the server's key, so that the viewer can
    # be shown the URL again while a copy of the database alone opens no feed.
    # (Comments, not docstrings: Tortoise turns docstrings into SQL comments.)

    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation = fields.OneToOneField(
        "models.Account", related_name="calendar_feed"
    )
    nonce = fields.CharField(max_length=64)
    secret_hash = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()

    account_id: int

    class Meta:
        table = "calendar_feed"


class BusyCalendar(Model):
    # An iCalendar URL of the expert's own calendar, fetched on a schedule. `etag` and
    # `last_modified` make the next fetch conditional while the stored expansion is recent
    # (`expanded_at`: the horizon moves on even when the file does not change);
    # `next_fetch_at` is also the lease of the worker fetching it (moved forward before the
    # fetch). `last_error` is what the expert sees: the last fetch's failure, else
    # `parse_error`, the broken events of the stored copy.

    id = fields.IntField(primary_key=True)
    expert: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name="busy_calendars"
    )
    name = fields.CharField(max_length=255)
    url = fields.CharField(max_length=2048)
    etag = fields.CharField(max_length=255, null=True)
    last_modified = fields.CharField(max_length=64, null=True)
    last_fetched_at = fields.DatetimeField(null=True)
    last_error: str | None = fields.TextField(null=True)
    parse_error: str | None = fields.TextField(null=True)
    expanded_at = fields.DatetimeField(null=True)
    next_fetch_at = fields.DatetimeField()
    created_at = fields.DatetimeField()

    expert_id: int

    class Meta:
        table = "busy_calendar"
        indexes = (Index(fields=("next_fetch_at",), name="busy_calendar_due"),)


class BusyInterval(Model):
    # One busy occurrence of a busy calendar, in UTC, within the look-ahead horizon; replaced
    # as a whole by each successful fetch. `expert_id` is copied so that free-time reads need
    # no join.

    id = fields.BigIntField(primary_key=True)
    calendar: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.BusyCalendar", related_name="intervals"
    )
    expert: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Account", related_name=False
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()

    calendar_id: int
    expert_id: int

    class Meta:
        table = "busy_interval"
        indexes = (Index(fields=("expert_id", "starts_at"), name="busy_interval_expert"),
                   Index(fields=("calendar_id", "starts_at"), name="busy_interval_calendar"))
