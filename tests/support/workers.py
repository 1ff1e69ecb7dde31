"""Meetings in a given state, made through the real API as a client would; stopping a
`meetings worker` process."""

import asyncio
import signal
from datetime import datetime
from typing import Any

import httpx
import jwt

from app.auth import make_token
from core import clock
from core.clock import FrozenClock
from core.settings import get_settings
from models.accounts import Account
from models.enums import OutboxKind, TimelineEventKind
from models.meetings import TimelineEvent
from models.notifications import Notification
from models.outbox import OutboxEntry
from schema.scalars import from_global_id, to_global_id
from tests.support.client import Market, Party, market
from workers import mail
from workers.conferencing.jobs import Outcome, run_entry


def gid(meeting_id: int) -> str:
    return str(to_global_id("Meeting", meeting_id))


def pk(party_id: str) -> int:
    """An account's primary key from its global id."""
    value = from_global_id(party_id, "Account")
    assert value is not None
    return value


async def agreed(http: httpx.AsyncClient, starts_at: datetime) -> tuple[Market, int]:
    m = await market(http)
    requested = await m.request(starts_at)
    assert requested["errors"] == [], requested
    meeting_id = from_global_id(requested["meeting"]["id"], "Meeting")
    assert meeting_id is not None
    confirmed = await m.expert.mutate("confirmMeeting", {"meetingId": gid(meeting_id)},
                                      "MeetingRefInput")
    assert confirmed["errors"] == [], confirmed
    assert confirmed["meeting"]["status"] == "AGREED"
    return m, meeting_id


async def move(m: Market, meeting_id: int, starts_at: datetime) -> dict[str, Any]:
    """The expert proposes a new date, the user confirms it."""
    proposed = await m.expert.mutate(
        "rescheduleMeeting", {"meetingId": gid(meeting_id), "startsAt": starts_at.isoformat()},
        "RescheduleMeetingInput")
    assert proposed["errors"] == [], proposed
    confirmed = await m.user.mutate("confirmAlternativeDate", {"meetingId": gid(meeting_id)},
                                    "MeetingRefInput")
    assert confirmed["errors"] == [], confirmed
    return confirmed["meeting"]


async def cancel(m: Market, meeting_id: int) -> dict[str, Any]:
    cancelled = await m.expert.mutate(
        "cancelMeeting", {"meetingId": gid(meeting_id), "reasonCode": "ILLNESS",
                          "acknowledgeLateCancellation": True}, "CancelMeetingInput")
    assert cancelled["errors"] == [], cancelled
    return cancelled["meeting"]


async def events(meeting_id: int) -> list[TimelineEventKind]:
    return [e.kind for e in await TimelineEvent.filter(meeting_id=meeting_id).order_by("id")]


async def notes(meeting_id: int, recipient: str) -> list[Notification]:
    return await Notification.filter(meeting_id=meeting_id,
                                     recipient_id=pk(recipient)).order_by("id")


async def changes(meeting_id: int) -> list[dict[str, Any]]:
    """The MEETING_CHANGED outbox payloads of one meeting, oldest first."""
    rows = await OutboxEntry.filter(kind=OutboxKind.MEETING_CHANGED).order_by("id")
    return [r.payload for r in rows if r.payload.get("meeting_id") == meeting_id]


async def set_email(who: Party, email: str) -> None:
    """Gives the party's token an e-mail claim (accounts follow their token's claims)."""
    claims = jwt.decode(who.token, options={"verify_signature": False})
    who.token = make_token(get_settings(), claims["sub"], name=claims["name"], email=email,
                           tz=claims.get("tz"))
    await who.q("{ viewer { account { id } } }")
    assert (await Account.get(id=pk(who.id))).email == email


async def send_due_emails() -> None:
    """Sweeps until nothing is due (other tests' notifications share the database)."""
    while await mail.send_due_emails():
        pass


async def owed_jobs(meeting_id: int) -> list[OutboxEntry]:
    """The meeting's conference jobs not yet done, oldest first."""
    rows = await OutboxEntry.filter(kind=OutboxKind.CONFERENCE,
                                    delivered_at__isnull=True).order_by("id")
    return [r for r in rows if r.payload.get("meeting_id") == meeting_id]


async def run_owed(frozen: FrozenClock, meeting_id: int) -> list[Outcome]:
    """Runs the meeting's owed conference jobs as the sweeps hand them on: each attempt when
    its row falls due (the clock moved on to its backoff). Returns every attempt's outcome."""
    outcomes: list[Outcome] = []
    for _ in range(20):
        owed = await owed_jobs(meeting_id)
        if not owed:
            return outcomes
        entry = owed[0]
        if entry.retry_at is not None and entry.retry_at > clock.now():
            frozen.set(entry.retry_at)
        outcomes.append(await run_entry(entry.id))
    raise AssertionError(f"jobs of meeting {meeting_id} still owed after 20 attempts")


async def stop_worker(worker: asyncio.subprocess.Process) -> str:
    """SIGTERM (a kill if it has not exited within 30 s); the process's output."""
    if worker.returncode is None:
        worker.send_signal(signal.SIGTERM)
    try:
        return (await asyncio.wait_for(worker.communicate(), timeout=30))[0].decode()
    except TimeoutError:
        worker.kill()
        return (await worker.communicate())[0].decode()
