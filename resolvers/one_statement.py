"""Several writes of one change as one PostgreSQL statement (data-modifying CTEs): each
sequential statement of a mutation is a round trip to the database while the meeting's row
lock is held, and the writes of one change do not depend on one another's results beyond
the ids that the outbox rows name, which the statement passes along itself.

Values go through each field's own `to_db_value`, as Tortoise's inserts and updates do, so
the rows are those the ORM would write (SQLite keeps the ORM's separate statements).
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from resolvers.prepared import PreparedQuery

# Tortoise passes every value as a parameter, so `$n` in its SQL is always a placeholder.
_PLACEHOLDER = re.compile(r"\$(\d+)")


class Statement:
    """`WITH part AS (…), … SELECT …`, its parameters numbered as the parts are added."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._parts: list[str] = []

    def param(self, value: Any, cast: str = "") -> str:
        self.values.append(value)
        return f"${len(self.values)}{cast}"

    def add(self, name: str, sql: str) -> str:
        """A part; the name it is referred to by (prefixed: a part named like a table would
        hide that table from the statement's reads)."""
        self._parts.append(f'"part_{name}" AS ({sql})')
        return f'"part_{name}"'

    def update(self, name: str, row: Model, fields: Sequence[str]) -> None:
        """The UPDATE `row.save(update_fields=fields)` sends."""
        meta = row._meta
        assignments = ", ".join(
            f'"{meta.fields_db_projection[f]}"={self.param(self._db_value(row, f))}'
            for f in fields)
        pk = meta.fields_db_projection[meta.pk_attr]
        self.add(name, f'UPDATE "{meta.db_table}" SET {assignments} '
                       f'WHERE "{pk}"={self.param(row.pk)}')

    def insert(self, name: str, rows: Sequence[Model], returning: str = "",
               around: Mapping[tuple[int, str], str] | None = None) -> str:
        """One multi-row INSERT of unsaved rows of one model (ids from its sequence, in
        list order). `around[(i, field)]`: an SQL expression around that value's parameter
        (`{}`), e.g. to add an id written by another part."""
        meta = rows[0]._meta
        fields = [f for f in meta.fields_db_projection if f != meta.pk_attr]
        columns = ", ".join(f'"{meta.fields_db_projection[f]}"' for f in fields)
        around = around or {}
        tuples = ", ".join(
            "(" + ", ".join(around.get((i, f), "{}").format(self.param(self._db_value(row, f)))
                            for f in fields) + ")"
            for i, row in enumerate(rows))
        suffix = f" RETURNING {returning}" if returning else ""
        return self.add(name, f'INSERT INTO "{meta.db_table}" ({columns}) VALUES {tuples}'
                              f"{suffix}")

    def read(self, client: BaseDBAsyncClient, query: PreparedQuery[Any], **values: Any) -> str:
        """A query as a subquery of this statement, its parameters renumbered. (It sees the
        database as it was before the statement: it must not read what the statement
        writes.)"""
        sql, params, _ = query.parameterized(client, **values)
        offset = len(self.values)
        self.values.extend(params)
        return _PLACEHOLDER.sub(lambda m: f"${int(m.group(1)) + offset}", sql)

    def sql(self, select: str) -> str:
        return f"WITH {', '.join(self._parts)} {select}"

    @staticmethod
    def _db_value(row: Model, field: str) -> Any:
        return row._meta.fields_map[field].to_db_value(getattr(row, field), row)
