"""The tests' one clock: T0, and the frozen clock the `frozen` fixture installs."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from core import clock
from core.clock import FrozenClock

# A Monday morning, far from today so that no test depends on the real date.
T0 = datetime(2030, 1, 7, 8, 0, tzinfo=UTC)


@contextmanager
def frozen_at(at: datetime = T0) -> Iterator[FrozenClock]:
    """The app's clock stands still at `at` (moved by the test) until the block ends."""
    frozen_clock = FrozenClock(at)
    clock.use(frozen_clock)
    try:
        yield frozen_clock
    finally:
        clock.use(clock.Clock())
