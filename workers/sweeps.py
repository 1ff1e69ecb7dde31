"""The periodic sweeps: due reminders, S1 complete, S2 expire, conference jobs, e-mail; and
beside them, in a loop of its own, the experts' busy calendars.

One step's failure (a database hiccup, a provider bug) is logged and does not stop the others
or the loop; the next round picks the work up again. Calendar fetches wait on other servers
(seconds each, at worst), so they never delay a reminder."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from core import clock
from core.settings import get_settings
from models import idempotency
from resolvers.busy_calendars import refresh_due
from resolvers.system import complete_ended, expire_started
from workers.conferencing.relay import relay_conference_jobs
from workers.mail import send_due_emails
from workers.reminders import send_due_reminders

log = logging.getLogger(__name__)


async def _forget_expired_keys() -> int:
    hours = get_settings().idempotency_hours
    return await idempotency.forget_expired(clock.now() - timedelta(hours=hours))


async def sweep_once(*, in_process: bool | None = None) -> dict[str, int]:
    # Conference jobs first: a link reminder due in the same round then carries the link.
    steps: list[tuple[str, Callable[[], Awaitable[int]]]] = [
        ("conference_jobs", lambda: relay_conference_jobs(in_process=in_process)),
        ("reminders", send_due_reminders),
        ("completed", complete_ended),
        ("expired", expire_started),
        ("emails", send_due_emails),
        ("expired_idempotency_keys", _forget_expired_keys),
    ]
    done: dict[str, int] = {}
    for name, step in steps:
        try:
            done[name] = await step()
        except Exception:
            log.exception("sweep step %s failed", name)
            done[name] = -1
    return done


async def refresh_calendars() -> int:
    try:
        return await refresh_due()
    except Exception:
        log.exception("sweep step busy_calendars failed")
        return -1


async def _every(stop: asyncio.Event, interval: float, name: str,
                 step: Callable[[], Awaitable[object]]) -> None:
    while not stop.is_set():
        done = await step()
        if done:
            log.info("%s: %s", name, done)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)


async def sweep_forever(stop: asyncio.Event, interval: float, *,
                        in_process: bool | None = None) -> None:
    async def sweeps() -> dict[str, int] | None:
        done = await sweep_once(in_process=in_process)
        return done if any(done.values()) else None

    await asyncio.gather(_every(stop, interval, "sweep", sweeps),
                         _every(stop, interval, "busy calendars", refresh_calendars))
