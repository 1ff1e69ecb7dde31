"""A queue for one consumer that costs almost nothing while empty.

An asyncio.Queue allocates three deques and an Event (each deque its own ~500-byte block)
when it is made: ~2 KiB for each live connection and each bus subscriber, which sit empty
nearly all the time. A Mailbox holds a list only while messages wait, and a future only
while its consumer waits. With a `maxsize`, a full mailbox drops its oldest message and
counts it in `lost` (a slow subscriber must not hold up everyone else).
"""

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    __slots__ = ("items", "waiter", "lost", "maxsize")

    def __init__(self, maxsize: int | None = None) -> None:
        self.items: list[T] | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.lost = 0  # messages dropped since the consumer last took one
        self.maxsize = maxsize

    def qsize(self) -> int:
        return len(self.items) if self.items else 0

    def empty(self) -> bool:
        return not self.items

    def put_nowait(self, item: T) -> None:
        if self.items is None:
            self.items = [item]
        else:
            if self.maxsize is not None and len(self.items) >= self.maxsize:
                del self.items[0]
                self.lost += 1
            self.items.append(item)
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> T:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        item = self.items.pop(0)
        if not self.items:
            self.items = None
        return item


class Flag:
    """asyncio.Event's set/clear/is_set/wait without a deque made up front."""

    __slots__ = ("value", "waiters")

    def __init__(self, value: bool = False) -> None:
        self.value = value
        self.waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self.value

    def set(self) -> None:
        self.value = True
        waiters, self.waiters = self.waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        self.value = False

    async def wait(self) -> None:
        if self.value:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self.waiters is None:
            self.waiters = []
        self.waiters.append(waiter)
        await waiter
