"""The account's private calendar feed (export): its URL, rotation, and the feed itself.

The secret in the URL is HMAC(key, account, nonce): 256 bits, random through the nonce. Only
the nonce and the secret's SHA-256 are stored, so a copy of the database opens no feed, while
the viewer can be shown the URL again. A GET looks the hash up (its timing depends on the
hash, not on how much of a real secret a guess shares) and confirms with a constant-time
comparison. Rotating replaces nonce and hash: the old URL is unknown at once."""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import clock
from core.settings import Settings, get_settings
from models import ical, invites
from models.accounts import Account, ExpertService
from models.calendars import CalendarFeed
from models.deliveries import CalendarInvite
from models.enums import MeetingStatus
from models.errors import DomainError, ErrorCode
from models.meetings import Meeting

PATH = "/calendar/{secret}.ics"
SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
# Called-off meetings stay this long (by their date) so that subscribed calendars drop them.
CANCELLED_FOR = timedelta(days=30)
# Agreed and completed meetings are kept as history this far back.
HISTORY = timedelta(days=365)
MAX_MEETINGS = 2000

STATUS: dict[MeetingStatus, ical.Status] = {
    MeetingStatus.AGREED: "CONFIRMED",
    MeetingStatus.COMPLETED: "CONFIRMED",
    MeetingStatus.AWAITING_APPROVAL: "TENTATIVE",
    MeetingStatus.CANCELLED: "CANCELLED",
    MeetingStatus.REJECTED: "CANCELLED",
    MeetingStatus.EXPIRED: "CANCELLED",
}


@dataclass(frozen=True)
class FeedLink:
    url: str
    created_at: datetime


@dataclass(frozen=True)
class Rendered:
    body: bytes
    etag: str


def _key(settings: Settings) -> bytes:
    key = settings.calendar_feed_key or settings.jwt_secret
    if (settings.environment == "production"
            and key == Settings.model_fields["jwt_secret"].default):
        # The default is public: with it, the stored nonces alone would open every feed.
        raise DomainError(ErrorCode.FORBIDDEN, "Calendar feeds are not set up on this server "
                          "(CALENDAR_FEED_KEY is missing).")
    return key.encode()


def _secret(settings: Settings, account_id: int, nonce: str) -> str:
    mac = hmac.new(_key(settings), f"calendar-feed:{account_id}:{nonce}".encode(),
                   hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _link(feed: CalendarFeed, settings: Settings, base_url: str) -> FeedLink:
    base = (settings.public_url or base_url).rstrip("/")
    secret = _secret(settings, feed.account_id, feed.nonce)
    return FeedLink(url=base + PATH.format(secret=secret), created_at=feed.created_at)


async def feed_of(account: Account, base_url: str) -> FeedLink | None:
    feed = await CalendarFeed.get_or_none(account_id=account.id)
    return _link(feed, get_settings(), base_url) if feed else None


async def rotate(account: Account, base_url: str) -> FeedLink:
    settings = get_settings()
    nonce = secrets.token_hex(32)
    secret_hash = _hash(_secret(settings, account.id, nonce))
    for _ in range(2):  # two first rotations at once: one creates the row, the other updates
        try:
            async with in_transaction():
                now = clock.now()
                feed = await CalendarFeed.filter(
                    account_id=account.id).select_for_update().first()
                if feed is None:
                    feed = await CalendarFeed.create(account_id=account.id, nonce=nonce,
                                                     secret_hash=secret_hash, created_at=now)
                else:
                    feed.nonce, feed.secret_hash, feed.created_at = nonce, secret_hash, now
                    await feed.save(update_fields=["nonce", "secret_hash", "created_at"])
            return _link(feed, settings, base_url)
        except IntegrityError:
            continue
    raise RuntimeError(f"calendar feed of account {account.id}: concurrent rotations")


async def _account_of(secret: str) -> int | None:
    if not SECRET.fullmatch(secret):
        return None
    digest = _hash(secret)
    feed = await CalendarFeed.get_or_none(secret_hash=digest)
    if feed is None or not hmac.compare_digest(feed.secret_hash, digest):
        return None
    return feed.account_id


async def _meetings(account_id: int, now: datetime) -> list[Meeting]:
    ended = [MeetingStatus.CANCELLED, MeetingStatus.REJECTED, MeetingStatus.EXPIRED]
    # Past the limit, the oldest history goes first: the latest meetings are the ones kept.
    latest = await Meeting.filter(
        Q(user_id=account_id) | Q(expert_id=account_id),
        Q(status__in=ended, ends_at__gte=now - CANCELLED_FOR)
        | Q(status__not_in=ended, ends_at__gte=now - HISTORY),
    ).order_by("-starts_at", "-id").limit(MAX_MEETINGS)
    return latest[::-1]


def _description(meeting: Meeting, account_id: int, services: dict[int, ExpertService],
                 accounts: dict[int, Account]) -> str:
    as_expert = meeting.expert_id == account_id
    other = accounts.get(meeting.user_id if as_expert else meeting.expert_id)
    service = services.get(meeting.service_id)
    lines = [
        f"Service: {service.title if service else '-'}",
        f"{'Client' if as_expert else 'Expert'}: {other.display_name if other else '-'}",
    ]
    if meeting.conference_join_url and STATUS[meeting.status] != "CANCELLED":
        lines.append(f"Join: {meeting.conference_join_url}")
    lines.append(f"Meeting #{meeting.id}, {meeting.status.value.lower().replace('_', ' ')}")
    return "\n".join(lines)


async def render(secret: str) -> Rendered | None:
    """The feed of the account whose secret this is; None for any other string."""
    account_id = await _account_of(secret)
    if account_id is None:
        return None
    settings = get_settings()
    domain = invites.domain_of(settings.smtp_from)
    now = clock.now()
    meetings = await _meetings(account_id, now)
    invites_by_meeting = {i.meeting_id: i for i in await CalendarInvite.filter(
        meeting_id__in=[m.id for m in meetings])}
    services = {s.id: s for s in await ExpertService.filter(
        id__in={m.service_id for m in meetings})}
    accounts = {a.id: a for a in await Account.filter(
        id__in={*(m.user_id for m in meetings), *(m.expert_id for m in meetings)})}
    entries = []
    for meeting in meetings:
        status = STATUS[meeting.status]
        cancelled = status == "CANCELLED"
        invite = invites_by_meeting.get(meeting.id)
        if invites.outdated(invite, meeting, cancelled):
            invite = await invites.publish(meeting, cancelled=cancelled, domain=domain)
        if invite is None:
            continue  # called off before any calendar saw it
        service = services.get(meeting.service_id)
        other = accounts.get(meeting.user_id if meeting.expert_id == account_id
                             else meeting.expert_id)
        entries.append(ical.Entry(
            uid=invite.uid, sequence=invite.sequence, status=status,
            starts_at=meeting.starts_at, ends_at=meeting.ends_at,
            summary=f"{service.title if service else 'Meeting'} with "
                    f"{other.display_name if other else 'someone'}",
            description=_description(meeting, account_id, services, accounts),
            join_url=None if cancelled else meeting.conference_join_url,
            # The meeting's last change, not now: an unchanged feed keeps its ETag.
            stamp=meeting.updated_at,
        ))
    body = ical.feed(entries, "Meetings",
                     timedelta(minutes=settings.calendar_feed_refresh_minutes))
    return Rendered(body=body, etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
