"""Tortoise configuration, shared by the server, the worker, the CLI and the tests."""

from typing import Any

from tortoise import Tortoise

MODEL_MODULES = [
    "models.accounts",
    "models.meetings",
    "models.ledger",
    "models.availability",
    "models.chat",
    "models.notifications",
    "models.outbox",
    "models.deliveries",
    "models.calendars",
]


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": database_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(database_url: str) -> None:
    # The global fallback lets resolvers, actors and CLI commands share one initialised ORM
    # without entering a TortoiseContext each (a plain init leaves "No TortoiseContext").
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def migrate(database_url: str) -> None:
    from tortoise.migrations.api.migrate import migrate as run_migrations

    await run_migrations(config=tortoise_config(database_url))


async def close_db() -> None:
    await Tortoise.close_connections()
