"""The shared Redis the tests may use (MEETINGS_TEST_REDIS), and whether it answers."""

import os

import redis

REDIS_URL = os.environ.get("MEETINGS_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL).ping())
    except redis.RedisError:
        return False


def drop_namespace(namespace: str) -> None:
    """Deletes a test's Dramatiq keys (its own namespace) from the shared Redis."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{namespace}*"))
    if keys:
        client.delete(*keys)
