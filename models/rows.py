"""Read-only rows: a model's columns as plain attributes, read with SQL written once.

The meeting list reads a page and four relations per request. Through the ORM each of those
is a QuerySet cloned and compiled by pypika and a model instance per row (with its change
tracking); the profile put that at about a third of the list's server time. A `Reader`
holds the model's SELECT (every column, the ORM's own identifiers), sends it through the
ORM's connection (the current transaction's, if any) and turns each row into a light object
whose attributes are the model's field names, converted exactly as Tortoise converts them
(`_init_from_db`'s three groups of fields). The object has the reading side of its model —
the same attribute names and the read helpers (`alt_ends_at`, `party_of`) — and nothing
else: it cannot be saved. schema/types.py takes these and model instances alike.

tests/models/test_rows.py checks every declared attribute against the model and every value
against the ORM's, on both backends.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar, cast

from tortoise.fields.base import Field
from tortoise.fields.data import CharEnumFieldInstance, DatetimeField
from tortoise.models import Model
from tortoise.timezone import get_default_timezone, get_use_tz

from models.accounts import Account, ExpertService, Skill
from models.enums import (
    ConferenceStatus,
    CreditPaymentStatus,
    MeetingStatus,
    Party,
    TimelineEventKind,
)
from models.meetings import Meeting, TimelineEvent


class Row:
    """The columns of one row of `model`, by field name."""

    model: ClassVar[type[Model]]
    id: int

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__ = values


class AccountRow(Row):
    model = Account
    key: str
    display_name: str
    email: str
    timezone: str
    is_admin: bool
    credits_available: int
    credits_blocked: int
    created_at: datetime


class SkillRow(Row):
    model = Skill
    name: str


class ServiceRow(Row):
    model = ExpertService
    expert_id: int
    title: str
    description: str | None
    length_minutes: int
    price_credits: int
    active: bool
    created_at: datetime


class MeetingRow(Row):
    model = Meeting
    user_id: int
    expert_id: int
    service_id: int
    skill_id: int
    starts_at: datetime
    ends_at: datetime
    length_minutes: int
    price_credits: int
    status: MeetingStatus
    approved_by_user: bool
    approved_by_expert: bool
    created_by: Party
    alt_starts_at: datetime | None
    alt_proposed_by: Party | None
    alt_proposed_at: datetime | None
    credit_status: CreditPaymentStatus
    rejection_reason_id: int | None
    rejection_note: str | None
    cancellation_reason_id: int | None
    cancellation_note: str | None
    conference_provider: str | None
    conference_status: ConferenceStatus | None
    conference_join_url: str | None
    conference_external_id: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    # The model's own read helpers: they only read attributes this row has too.
    alt_ends_at = Meeting.alt_ends_at
    party_of = Meeting.party_of


class TimelineRow(Row):
    model = TimelineEvent
    meeting_id: int
    kind: TimelineEventKind
    label: str
    at: datetime
    actor: Party | None
    starts_at: datetime | None
    reason_id: int | None
    note: str | None


R = TypeVar("R", bound=Row)


def _converter(field: Field[Any]) -> Callable[[Any], Any]:
    """`field.to_python_value`, with its common case first for the two kinds of column a
    meeting list converts most (the profile put Enum() and the time-zone checks at a few
    percent): a value already in the enum's value map is that member, as Enum(value)
    answers; an aware datetime is moved to Tortoise's time zone, as `to_python_value`
    does when time zones are on. Any other value takes `to_python_value` itself."""
    to_python = field.to_python_value
    if type(field).to_python_value is CharEnumFieldInstance.to_python_value:
        members: dict[Any, Any] = cast(Any, field).enum_type._value2member_map_

        def enum(value: Any) -> Any:
            member = members.get(value) if isinstance(value, str) else None
            return member if member is not None else to_python(value)

        return enum
    if type(field).to_python_value is DatetimeField.to_python_value and get_use_tz():
        zone = get_default_timezone()

        def instant(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is UTC:
                return value.astimezone(zone)
            return to_python(value)

        return instant
    return to_python


class Params:
    """A statement's connection, and its values and their placeholders in the connection's
    dialect ($n for asyncpg, ? for SQLite), each value converted by its field as the ORM's
    filters do."""

    def __init__(self, model: type[Model], client: Any) -> None:
        self.model = model
        self.client = client
        self.postgres = client.capabilities.dialect == "postgres"
        self.values: list[Any] = []

    def __call__(self, field: str, value: Any) -> str:
        self.values.append(self.model._meta.fields_map[field].to_db_value(value, self.model))
        return f"${len(self.values)}" if self.postgres else "?"

    def any_of(self, field: str, values: Sequence[Any]) -> str:
        """`"field" = ANY($n)` / `"field" IN (?, …)` for a non-empty list of values."""
        if self.postgres:
            converted = [self.model._meta.fields_map[field].to_db_value(v, self.model)
                         for v in values]
            self.values.append(converted)
            return f'"{self.column(field)}" = ANY(${len(self.values)})'
        return f'"{self.column(field)}" IN ({", ".join(self(field, v) for v in values)})'

    def column(self, field: str) -> str:
        return self.model._meta.fields_db_projection[field]


class Reader(Generic[R]):
    """Reads `row_class`'s table with a SELECT of every column; the caller writes the WHERE
    and ORDER BY with a `Params`."""

    def __init__(self, row_class: type[R]) -> None:
        self.row_class = row_class
        self.model = row_class.model
        self._select: str | None = None
        self._columns: list[str] = []

    @property
    def select(self) -> str:
        # Built on first use: the model's columns are known once Tortoise is initialised.
        if self._select is None:
            meta = self.model._meta
            self._columns = sorted(meta.db_fields)
            columns = ", ".join(f'"{c}"' for c in self._columns)
            self._select = f'SELECT {columns} FROM "{meta.db_table}"'
        return self._select

    def params(self) -> Params:
        """For a statement on the connection the model's own queries would use (the
        transaction's, inside one)."""
        return Params(self.model, self.model._meta.db)

    async def fetch(self, tail: str, params: Params) -> list[R]:
        _, raw = await params.client.execute_query(f"{self.select} {tail}", params.values)
        return self.rows(raw)

    async def fetch_counted(self, count_where: str, where: str, order: Sequence[str],
                            limit: int, params: Params) -> tuple[list[R], int]:
        """The first `limit` rows matching `where` by `order`, and how many rows match
        `count_where`, in one statement: the count is LEFT JOINed with the rows, so that no
        rows still answer it (one row of NULLs then). `count_where`'s placeholders come
        first in `params`, then `where`'s."""
        columns = ", ".join(f'"{c}"' for c in order)
        ordered = ", ".join(f'"selected"."{c}"' for c in order)
        _, raw = await params.client.execute_query(
            f'SELECT "selected".*, "counted"."total" FROM (SELECT COUNT(*) AS "total" FROM '
            f'"{self.model._meta.db_table}" WHERE {count_where}) AS "counted" LEFT JOIN '
            f'({self.select} WHERE {where} ORDER BY {columns} LIMIT {int(limit)}) AS "selected" '
            f"ON TRUE ORDER BY {ordered}", params.values)
        total = int(raw[0][len(self._columns)])
        if raw[0][self._columns.index(self.model._meta.db_pk_column)] is None:
            return [], total
        return self.rows(raw, trailing=1), total

    def rows(self, raw: Sequence[Any], trailing: int = 0) -> list[R]:
        """Rows of this reader's SELECT (its columns in order, then `trailing` others) as
        row objects."""
        meta = self.model._meta
        names = [meta.fields_db_projection_reverse[c] for c in self._columns]
        # The driver's own types for native fields; the others as `_init_from_db` converts.
        default = [(name, f.field_type) for _, name, f in meta.db_default_fields]
        complex_ = [(name, _converter(f)) for _, name, f in meta.db_complex_fields]
        make = self.row_class
        out: list[R] = []
        strict = not trailing
        for row in raw:
            values = dict(zip(names, row, strict=strict))
            for name, field_type in default:
                if (value := values[name]) is not None:
                    values[name] = field_type(value)
            for name, to_python in complex_:
                values[name] = to_python(values[name])
            out.append(make(values))
        return out

    async def by_ids(self, ids: Sequence[int]) -> list[R]:
        params = self.params()
        return await self.fetch(f"WHERE {params.any_of('id', ids)}", params)


account_reader = Reader(AccountRow)
skill_reader = Reader(SkillRow)
service_reader = Reader(ServiceRow)
meeting_reader = Reader(MeetingRow)
timeline_reader = Reader(TimelineRow)
