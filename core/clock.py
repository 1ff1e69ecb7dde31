"""The one source of "now": tests move it instead of sleeping."""

from datetime import UTC, datetime, timedelta


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock(Clock):
    """A clock that stands still until moved; for tests and benchmarks."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


clock: Clock = Clock()


def now() -> datetime:
    return clock.now()


def use(new_clock: Clock) -> None:
    global clock
    clock = new_clock
