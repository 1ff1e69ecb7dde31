"""Test harness. Each run gets its own database: a temporary SQLite file, or, with
MEETINGS_TEST_DB=postgres, a fresh PostgreSQL database that is dropped afterwards. Tests
make their own accounts (unique subs), so they never see each other's rows."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller

from app.asgi import create_app
from core import db
from core.clock import FrozenClock
from core.settings import get_settings
from tests.support.backend import BACKEND
from tests.support.clock import T0, frozen_at
from tests.support.peers import Inbox
from tests.support.ports import free_port

PG_ADMIN = os.environ.get("MEETINGS_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with MEETINGS_TEST_DB=postgres")
    for item in items:
        if "pg" in item.keywords and BACKEND != "postgres":
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if BACKEND != "postgres":
        yield f"sqlite://{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    name = f"meetings_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}?maxsize=30"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
async def orm(database_url: str) -> AsyncIterator[str]:
    from app.seed import seed_reasons

    os.environ["DATABASE_URL"] = database_url
    get_settings.cache_clear()
    await db.migrate(database_url)
    await db.close_db()
    await db.init_db(database_url)
    await seed_reasons()
    yield database_url
    await db.close_db()


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    with frozen_at(T0) as frozen_clock:
        yield frozen_clock


@pytest.fixture
def env() -> Iterator[Callable[..., None]]:
    """`env(smtp_url=..., environment="production", ...)`: settings through the environment
    for one test (None unsets one); the old values come back afterwards."""
    saved: dict[str, str | None] = {}

    def set_env(**values: Any) -> None:
        for key, value in values.items():
            name = key.upper()
            saved.setdefault(name, os.environ.get(name))
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = str(value)
        get_settings.cache_clear()

    yield set_env
    for name, old in saved.items():
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
    get_settings.cache_clear()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on a free port, collecting what it receives."""
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def client(orm: str, frozen: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(get_settings(), manage_db=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture(scope="session", autouse=True)
def shadowed_executor() -> Iterator[None]:
    """Every operation the suite executes in this process is also run through the default
    executor and compared (tests/support/differential.py)."""
    from app.schema import schema
    from tests.support.differential import ShadowedExecutor

    production = schema.execution_context_class
    schema.execution_context_class = ShadowedExecutor
    yield
    schema.execution_context_class = production


@pytest.fixture(autouse=True)
def same_as_default_executor() -> Iterator[None]:
    from tests.support.differential import MISMATCHES

    MISMATCHES.clear()
    yield
    found = list(MISMATCHES)
    MISMATCHES.clear()
    assert not found, "fast and default executors differ:\n" + "\n".join(found)
