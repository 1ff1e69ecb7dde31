"""Tortoise queries built once and run again with other values. Building a query's SQL
(pypika) costs more of the server's CPU than PostgreSQL spends answering it: the meeting a
mutation locks, with its parties' accounts, and the conflict checks are built once per
database dialect here instead of on every request. What runs is exactly the SQL Tortoise
builds, and rows become objects through Tortoise's own executor (select_related and
annotations included)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.queryset import AwaitableQuery, QuerySet, ValuesListQuery

M = TypeVar("M", bound=Model)
Q = TypeVar("Q", bound=AwaitableQuery[Any])


class Slot:
    """Where a value given at run time goes among a query's values."""

    def __init__(self, name: str) -> None:
        self.name = name


@dataclass(frozen=True)
class _Built:
    sql: str
    values: list[Any]  # the constants, and a Slot where a value is given at run time
    select_related_idx: Any
    custom_fields: list[str]


class PreparedQuery(Generic[Q]):
    """`build(**values)` returns the query; `slots` names the values given at run time and
    their types (int, str or datetime)."""

    def __init__(self, build: Callable[..., Q], **slots: type) -> None:
        self.build = build
        self._slots = slots
        self._built: dict[str, _Built] = {}

    def _prepare(self, client: BaseDBAsyncClient) -> _Built:
        # A stand-in per slot that the fields' conversions leave as it is, and that no
        # constant of the query equals.
        stand_ins: dict[str, Any] = {name: _stand_in(kind, i)
                                     for i, (name, kind) in enumerate(self._slots.items())}
        slot_of = {(type(v), v): Slot(name) for name, v in stand_ins.items()}
        query = self.build(**stand_ins)
        query._db = client  # what `using_db` does, which values_list queries lack
        query._make_query()
        sql, values = query.query.get_parameterized_sql()
        built = _Built(sql, [slot_of.get((type(v), v), v)
                             if isinstance(v, int | str | datetime) else v for v in values],
                       getattr(query, "_select_related_idx", None),
                       list(getattr(query, "_annotations", ())))
        assert sum(isinstance(v, Slot) for v in built.values) >= len(self._slots)
        self._built[client.capabilities.dialect] = built
        return built

    def parameterized(self, client: BaseDBAsyncClient, **values: Any
                      ) -> tuple[str, list[Any], _Built]:
        """The query's SQL and values for `client`'s dialect."""
        built = self._built.get(client.capabilities.dialect) or self._prepare(client)
        return built.sql, [values[v.name] if isinstance(v, Slot) else v
                           for v in built.values], built

    async def first(self: "PreparedQuery[QuerySet[M]]", model: type[M],
                    **values: Any) -> M | None:
        """The first object the query finds."""
        client = connections.get("default")
        sql, params, built = self.parameterized(client, **values)
        executor = client.executor_class(model=model, db=client,
                                         select_related_idx=built.select_related_idx)
        rows = await executor.execute_select(sql, params, custom_fields=built.custom_fields)
        return rows[0] if rows else None


# A prepared flat values query and the values to run it with (record_change's reads).
Read = tuple[PreparedQuery[ValuesListQuery[Any]], dict[str, Any]]


def _stand_in(kind: type, i: int) -> Any:
    if kind is int:
        return -(2**31) + i
    if kind is str:
        return f"\x00slot {i}\x00"
    if kind is datetime:
        return datetime(2, 1, 1, tzinfo=UTC) + timedelta(seconds=i)
    raise TypeError(f"no stand-in for {kind}")
