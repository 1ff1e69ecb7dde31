"""Tortoise queries built once and run again with other values. Building a query's SQL
(pypika) costs more of the server's CPU than PostgreSQL spends answering it: the meeting a
mutation locks, with its parties' accounts, is built once per database dialect here instead
of on every request. What runs is exactly the SQL Tortoise builds, and its rows become
objects through Tortoise's own executor (select_related and annotations included)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)


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


class PreparedQuery(Generic[M]):
    """`build(**values)` returns the query; `slots` names the values given at run time
    and their types (int or str); `first(**values)` runs it with them."""

    def __init__(self, model: type[M], build: Callable[..., QuerySet[M]],
                 **slots: type[int] | type[str]) -> None:
        self._model = model
        self._build = build
        self._slots = slots
        self._built: dict[str, _Built] = {}

    def _prepare(self, client: BaseDBAsyncClient) -> _Built:
        # A stand-in per slot that the fields' conversions leave as it is, and that no
        # constant of the query equals.
        stand_ins: dict[str, Any] = {
            name: -(2**31) + i if kind is int else f"\x00slot {name}\x00"
            for i, (name, kind) in enumerate(self._slots.items())}
        slot_of = {(type(v), v): Slot(name) for name, v in stand_ins.items()}
        query = self._build(**stand_ins).using_db(client)
        query._make_query()
        sql, values = query.query.get_parameterized_sql()
        built = _Built(sql, [slot_of.get((type(v), v), v) if isinstance(v, int | str) else v
                             for v in values],
                       query._select_related_idx, list(query._annotations))
        assert sum(isinstance(v, Slot) for v in built.values) >= len(self._slots)
        self._built[client.capabilities.dialect] = built
        return built

    async def first(self, **values: Any) -> M | None:
        client = connections.get("default")
        built = self._built.get(client.capabilities.dialect) or self._prepare(client)
        params = [values[v.name] if isinstance(v, Slot) else v for v in built.values]
        executor = client.executor_class(model=self._model, db=client,
                                         select_related_idx=built.select_related_idx)
        rows = await executor.execute_select(built.sql, params,
                                             custom_fields=built.custom_fields)
        return rows[0] if rows else None
