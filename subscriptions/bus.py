"""The event bus (SPEC §8): one interface, two implementations.

`RedisBus` holds ONE pub/sub connection per process and fans each message out in memory to
every local subscriber of its channel; it reconnects with backoff when Redis goes away.
`InProcessBus` serves the embedded default (one process, no Redis).
"""

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson

from core.mailbox import Mailbox

log = logging.getLogger("meetings.bus")
QUEUE_SIZE = 256


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def wait_ready(self) -> None:
        """Returns once published events will reach this process's subscribers."""
        ...

    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Publishes in order, in one round trip where the transport allows."""
        ...

    def subscribe(self, channel: str) -> contextlib.AbstractAsyncContextManager[
        AsyncIterator[dict[str, Any]]]: ...

    async def drained(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Waits (up to `timeout`) until the local subscribers have taken every queued
        event; True when they have."""
        ...


LOST = "lost"  # set on the next event a subscriber receives after its queue overflowed


class _LocalFanout:
    """Channel → local subscriber queues. A slow subscriber loses its oldest events rather
    than holding up everyone else, and is told so: the next event it takes carries `lost`
    (how many were dropped), and the subscription replays them or asks for a refetch."""

    def __init__(self) -> None:
        self.queues: defaultdict[str, set[Mailbox[dict[str, Any]]]] = defaultdict(set)

    def deliver(self, channel: str, event: dict[str, Any]) -> None:
        for queue in list(self.queues.get(channel, ())):
            queue.put_nowait(event)

    def add(self, channel: str) -> Mailbox[dict[str, Any]]:
        queue: Mailbox[dict[str, Any]] = Mailbox(QUEUE_SIZE)
        self.queues[channel].add(queue)
        return queue

    def remove(self, channel: str, queue: Mailbox[dict[str, Any]]) -> bool:
        """Removes a subscriber; True when it was the channel's last."""
        subscribers = self.queues.get(channel)
        if subscribers is None:
            return False
        subscribers.discard(queue)
        if not subscribers:
            del self.queues[channel]
            return True
        return False

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self.queues.values())

    def queued(self) -> int:
        return sum(q.qsize() for subscribers in self.queues.values() for q in subscribers)

    async def drained(self, timeout: float) -> bool:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while self.queued():
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.02)
        return True


async def _drain(queue: Mailbox[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        event = await queue.get()
        if queue.lost:
            event = {**event, LOST: queue.lost}  # events are shared: copy, then mark
            queue.lost = 0
        yield event


class InProcessBus:
    def __init__(self) -> None:
        self.fanout = _LocalFanout()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def wait_ready(self) -> None:
        return None

    async def drained(self, timeout: float) -> bool:  # noqa: ASYNC109
        return await self.fanout.drained(timeout)

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        self.fanout.deliver(channel, event)

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        for channel, event in items:
            self.fanout.deliver(channel, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        queue = self.fanout.add(channel)
        try:
            yield _drain(queue)
        finally:
            self.fanout.remove(channel, queue)


class RedisBus:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self.url = url
        # Publishing needs a normal connection; the pub/sub connection only listens.
        self.client = redis.Redis.from_url(url, max_connections=4)
        self.fanout = _LocalFanout()
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="redis-bus")

    async def stop(self, timeout: float = 2.0) -> None:  # noqa: ASYNC109
        """Bounded: redis-py's asyncio client can swallow a cancellation that lands at the
        wrong moment, so a listener that does not end is abandoned, and its connection
        closed under it."""
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(self._task), timeout=timeout)
            if not self._task.done():
                log.warning("redis pub/sub listener ignored its cancellation: abandoned")
        for closing in (self._pubsub, self.client):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(closing.aclose(), timeout=timeout)

    async def wait_ready(self) -> None:
        await self.connected.wait()

    async def drained(self, timeout: float) -> bool:  # noqa: ASYNC109
        return await self.fanout.drained(timeout)

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        await self.client.publish(channel, orjson.dumps(event))

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for channel, event in items:
                pipe.publish(channel, orjson.dumps(event))
            await pipe.execute()

    async def _listen(self) -> None:
        import redis.asyncio as redis

        delay = 0.1
        while True:
            try:
                listener = redis.Redis.from_url(self.url).pubsub(ignore_subscribe_messages=True)
                async with self._lock:
                    self._pubsub = listener
                    channels = list(self.fanout.queues)
                    # A channel must be subscribed before `listen()` returns anything.
                    await listener.subscribe("bus:heartbeat", *channels)
                self.connected.set()
                delay = 0.1
                async for message in listener.listen():
                    if message["type"] == "message":
                        channel = message["channel"].decode()
                        self.fanout.deliver(channel, orjson.loads(message["data"]))
                raise ConnectionError("pub/sub stream ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means: reconnect
                self.connected.clear()
                log.warning("redis pub/sub lost (%s); reconnecting in %.1fs", exc, delay)
                with contextlib.suppress(Exception):
                    await listener.aclose()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        first = channel not in self.fanout.queues
        queue = self.fanout.add(channel)
        if first:
            async with self._lock:
                if self.connected.is_set() and self._pubsub is not None:
                    with contextlib.suppress(Exception):  # a reconnect re-subscribes
                        await self._pubsub.subscribe(channel)
        try:
            yield _drain(queue)
        finally:
            if self.fanout.remove(channel, queue):
                async with self._lock:
                    if self.connected.is_set() and self._pubsub is not None:
                        with contextlib.suppress(Exception):
                            await self._pubsub.unsubscribe(channel)


_bus: Bus = InProcessBus()


def get_bus() -> Bus:
    return _bus


def use_bus(bus: Bus) -> None:
    global _bus
    _bus = bus


def bus_for(redis_url: str | None) -> Bus:
    return RedisBus(redis_url) if redis_url else InProcessBus()
