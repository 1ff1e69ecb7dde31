"""The expert's own calendars (import): add, refresh, remove, and the worker's scheduled
refresh. Their busy intervals are subtracted from free time (resolvers/availability_check.py).

A refresh that fails (fetch, HTML, garbage, too large) keeps the last good copy and records
`last_error`; one whose file has broken events stores the good ones and names the broken."""

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.queryset import ValuesListQuery
from tortoise.transactions import in_transaction

from core import clock
from core.metrics import job_done
from core.settings import Settings, get_settings
from models import busytime
from models.accounts import Account, ExpertProfile
from models.calendars import BusyCalendar, BusyInterval
from models.errors import DomainError, ErrorCode
from resolvers import access
from resolvers.calendar_fetch import Fetched, FetchError, fetch, normalized

log = logging.getLogger(__name__)

MAX_NAME = 255
BATCH = 20
PARALLEL = 4
# A 304 is trusted this long; then the file is fetched in full to extend the horizon.
REEXPAND_AFTER = timedelta(hours=24)


async def _timezone(expert_id: int) -> str:
    profile = await ExpertProfile.get_or_none(account_id=expert_id)
    if profile is not None:
        return profile.availability_timezone
    account = await Account.get(id=expert_id)
    return account.timezone


async def _download(calendar: BusyCalendar, settings: Settings, now: datetime) -> Fetched:
    recent = calendar.expanded_at is not None and now - calendar.expanded_at < REEXPAND_AFTER
    return await fetch(calendar.url, settings,
                       etag=calendar.etag if recent else None,
                       last_modified=calendar.last_modified if recent else None)


async def _expand(body: bytes, timezone: str, now: datetime,
                  settings: Settings) -> busytime.Expansion:
    start, end = busytime.horizon(now, settings.busy_calendar_horizon_days)
    # Parsing a few megabytes takes seconds of CPU: off the event loop, so that the server
    # (or the worker's sweeps) keeps answering meanwhile.
    return await asyncio.to_thread(busytime.expand, body, timezone, start, end)


async def _store(calendar: BusyCalendar, fetched: Fetched, expansion: busytime.Expansion,
                 now: datetime) -> None:
    """Replaces the calendar's intervals with a new good copy (the caller's transaction)."""
    calendar.etag, calendar.last_modified = fetched.etag, fetched.last_modified
    calendar.last_fetched_at = calendar.expanded_at = now
    calendar.parse_error = calendar.last_error = expansion.problems()
    await calendar.save()
    await BusyInterval.filter(calendar_id=calendar.id).delete()
    await BusyInterval.bulk_create([
        BusyInterval(calendar_id=calendar.id, expert_id=calendar.expert_id, starts_at=s,
                     ends_at=e) for s, e in expansion.intervals
    ], batch_size=500)


async def refresh(calendar: BusyCalendar, settings: Settings | None = None) -> BusyCalendar:
    """Fetches and expands one calendar now; never raises for what the URL answers."""
    settings = settings or get_settings()
    now = clock.now()
    try:
        fetched = await _download(calendar, settings, now)
        if fetched.body is None:  # not modified: the stored copy still holds
            calendar.last_fetched_at = now
            calendar.last_error = calendar.parse_error
            await calendar.save(update_fields=["last_fetched_at", "last_error"])
            job_done("busy_calendar", "not_modified")
            return calendar
        expansion = await _expand(fetched.body, await _timezone(calendar.expert_id), now, settings)
    except (FetchError, busytime.NotICalendar) as exc:
        calendar.last_error = str(exc)
        await calendar.save(update_fields=["last_error"])
        job_done("busy_calendar", "failed")
        return calendar
    async with in_transaction():
        # The row may have been removed while the URL was being fetched.
        if await BusyCalendar.filter(id=calendar.id).select_for_update().exists():
            await _store(calendar, fetched, expansion, now)
    job_done("busy_calendar", "broken_events" if expansion.problems() else "fetched")
    return calendar


async def add(account: Account, url: str, name: str) -> BusyCalendar:
    """Adds a calendar after one good fetch; a URL that fails to give one adds nothing."""
    settings = get_settings()
    name = name.strip()
    if not 0 < len(name) <= MAX_NAME:
        raise DomainError(ErrorCode.INVALID_INPUT, "A name has 1 to 255 characters.", "name")
    try:
        url = normalized(url, settings)
    except FetchError as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, str(exc), "url") from None
    existing = await BusyCalendar.filter(expert_id=account.id).values_list("url", flat=True)
    if url in existing:
        raise DomainError(ErrorCode.INVALID_INPUT, "This calendar is already added.", "url")
    if len(existing) >= settings.busy_calendar_max_per_account:
        raise DomainError(ErrorCode.INVALID_INPUT, "You have added the most calendars "
                          f"allowed ({settings.busy_calendar_max_per_account}).", "url")
    now = clock.now()
    try:
        fetched = await fetch(url, settings)
        assert fetched.body is not None  # an unconditional request
        expansion = await _expand(fetched.body, await _timezone(account.id), now, settings)
    except (FetchError, busytime.NotICalendar) as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, str(exc), "url") from None
    async with in_transaction():
        calendar = await BusyCalendar.create(
            expert_id=account.id, name=name, url=url, created_at=now,
            next_fetch_at=now + timedelta(minutes=settings.busy_calendar_refresh_minutes))
        await _store(calendar, fetched, expansion, now)
    return calendar


async def own(account: Account, calendar_id: int | None) -> BusyCalendar:
    calendar = await access.own_busy_calendar(account, calendar_id)
    if calendar is None:
        raise DomainError(ErrorCode.NOT_FOUND, "Calendar not found.", "id")
    return calendar


async def refresh_own(account: Account, calendar_id: int | None) -> BusyCalendar:
    return await refresh(await own(account, calendar_id))


async def remove(account: Account, calendar_id: int | None) -> BusyCalendar:
    """Removes the calendar and its busy times; returns it as it was."""
    async with in_transaction():
        calendar = await own(account, calendar_id)
        await BusyInterval.filter(calendar_id=calendar.id).delete()
        await calendar.delete()
    return calendar


async def _claim(settings: Settings) -> list[BusyCalendar]:
    """Due calendars, each leased to this worker by moving its next fetch forward."""
    async with in_transaction():
        now = clock.now()
        due = await BusyCalendar.filter(next_fetch_at__lte=now).order_by(
            "next_fetch_at", "id").limit(BATCH).select_for_update(skip_locked=True)
        later = now + timedelta(minutes=settings.busy_calendar_refresh_minutes)
        if due:
            await BusyCalendar.filter(id__in=[c.id for c in due]).update(next_fetch_at=later)
        for calendar in due:
            calendar.next_fetch_at = later
        return list(due)


async def refresh_due(settings: Settings | None = None) -> int:
    """The worker's step: fetches one batch of due calendars, a few at a time."""
    settings = settings or get_settings()
    due = await _claim(settings)
    gate = asyncio.Semaphore(PARALLEL)

    async def one(calendar: BusyCalendar) -> None:
        async with gate:
            try:
                await refresh(calendar, settings)
            except Exception:  # a database hiccup on one must not stop the others
                log.exception("busy calendar %s: refresh failed", calendar.id)

    await asyncio.gather(*(one(c) for c in due))
    return len(due)


async def reread_soon(expert_id: int) -> None:
    """The next sweep fetches the expert's calendars in full (their zone changed)."""
    await BusyCalendar.filter(expert_id=expert_id).update(expanded_at=None,
                                                          next_fetch_at=clock.now())


async def busy_count(calendar_id: int) -> int:
    return await BusyInterval.filter(calendar_id=calendar_id, ends_at__gt=clock.now()).count()


async def calendars_of(account_id: int) -> list[BusyCalendar]:
    return await BusyCalendar.filter(expert_id=account_id).order_by("id")


def busy_overlapping_query(expert_id: int, start: datetime, end: datetime
                           ) -> ValuesListQuery[Any]:
    """The names of the expert's calendars busy within ``[start, end)``, for
    `calendar_names` (a meeting action runs it with its writes)."""
    # No DISTINCT: PostgreSQL's SELECT DISTINCT cannot order by a column it does not select.
    return BusyCalendar.filter(
        expert_id=expert_id, intervals__starts_at__lt=end, intervals__ends_at__gt=start,
    ).order_by("id").values_list("name", flat=True)


def calendar_names(rows: Sequence[Any]) -> list[str]:
    """One name per calendar, in order, from `busy_overlapping_query`'s rows."""
    return list(dict.fromkeys(str(name) for name in rows))
