"""Notifications by e-mail (SPEC §5), when SMTP_URL is set.

Each notification gets one `NotificationDelivery` row per channel (unique), so it is sent at
most once per (notification, channel). Sending takes a lease: the row's `next_attempt_at` moves
forward before the message goes out (under FOR UPDATE SKIP LOCKED on PostgreSQL), so several
workers never send the same row together, and a worker that dies mid-send leaves the row due
again later. Failures are retried with exponential backoff until the attempts run out.
Texts are the notification's own, rendered in the recipient's time zone when it was written.
"""

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import aiosmtplib
from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from core import clock
from core.metrics import job_done
from core.settings import Settings, get_settings
from models import ical, invites
from models.accounts import Account
from models.deliveries import DeliveryChannel, DeliveryStatus, NotificationDelivery
from models.enums import MeetingStatus, NotificationKind
from models.meetings import Meeting
from models.notifications import Notification

log = logging.getLogger(__name__)

BATCH = 200
N = NotificationKind
# Notifications of an agreed meeting that carry its invite.
INVITE_KINDS = {N.MEETING_CONFIRMED, N.ALTERNATIVE_DATE_CONFIRMED, N.MEETING_REMINDER,
                N.MEETING_LINK}


def smtp_options(url: str) -> dict[str, Any]:
    """smtp://[user:pass@]host[:port] (plain), smtp+starttls://…, smtps://… (TLS)."""
    parts = urlsplit(url)
    tls = parts.scheme == "smtps"
    return {
        "hostname": parts.hostname or "localhost",
        "port": parts.port or (465 if tls else 25),
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_tls": tls,
        "start_tls": parts.scheme == "smtp+starttls",
        "timeout": 30,
    }


async def plan_emails(settings: Settings | None = None) -> int:
    """Adds an EMAIL delivery for each recent notification that has none."""
    settings = settings or get_settings()
    now = clock.now()
    planned = NotificationDelivery.filter(channel=DeliveryChannel.EMAIL).values(
        "notification_id")
    ids = await Notification.filter(
        created_at__gte=now - timedelta(hours=settings.email_max_age_hours)
    ).exclude(id__in=Subquery(planned)).order_by("id").limit(BATCH).values_list("id", flat=True)
    if ids:
        await NotificationDelivery.bulk_create([
            NotificationDelivery(notification_id=i, channel=DeliveryChannel.EMAIL,
                                 status=DeliveryStatus.PENDING, next_attempt_at=now,
                                 created_at=now)
            for i in cast(list[int], ids)
        ], ignore_conflicts=True)
    return len(ids)


async def _invite(notification: Notification, meeting: Meeting, recipient: Account,
                  settings: Settings) -> tuple[ical.Method, bytes] | None:
    method: ical.Method
    if meeting.status is MeetingStatus.AGREED and notification.kind in INVITE_KINDS:
        method = "REQUEST"
    elif meeting.status in (MeetingStatus.CANCELLED, MeetingStatus.REJECTED):
        method = "CANCEL"
    else:
        return None
    sender = parseaddr(settings.smtp_from)[1] or "no-reply@meetings.local"
    invite = await invites.publish(meeting, cancelled=method == "CANCEL",
                                   domain=invites.domain_of(settings.smtp_from))
    if invite is None:
        return None  # never invited: nothing to call off
    attendees = tuple(a.email for a in await Account.filter(
        id__in=[meeting.user_id, meeting.expert_id]) if a.email)
    return method, ical.invite(method, ical.Entry(
        uid=invite.uid, sequence=invite.sequence, starts_at=invite.starts_at,
        ends_at=invite.starts_at + timedelta(minutes=invite.length_minutes),
        summary=f"Meeting #{meeting.id}",
        status="CANCELLED" if method == "CANCEL" else "CONFIRMED", stamp=clock.now(),
        organizer=sender, attendees=attendees,
        join_url=meeting.conference_join_url if method == "REQUEST" else None,
    ))


async def build_message(delivery: NotificationDelivery,
                        settings: Settings) -> tuple[EmailMessage, str] | None:
    notification = await Notification.get(id=delivery.notification_id)
    recipient = await Account.get(id=notification.recipient_id)
    if not recipient.email:
        return None
    sender = parseaddr(settings.smtp_from)[1] or "no-reply@meetings.local"
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = formataddr((recipient.display_name, recipient.email))
    message["Subject"] = notification.title
    # Stable per (notification, channel): receivers can drop a duplicate.
    message["Message-ID"] = make_msgid(
        idstring=f"notification-{notification.id}-{delivery.channel.value.lower()}",
        domain=sender.split("@")[-1])
    message.set_content(f"{notification.body}\n")
    if notification.meeting_id is not None:
        meeting = await Meeting.get(id=notification.meeting_id)
        invite = await _invite(notification, meeting, recipient, settings)
        if invite is not None:
            method, data = invite
            message.add_attachment(data, maintype="text", subtype="calendar",
                                   filename="invite.ics", params={"method": method})
    return message, recipient.email


async def _claim(delivery_id: int, settings: Settings) -> NotificationDelivery | None:
    async with in_transaction():
        now = clock.now()
        delivery = await NotificationDelivery.filter(
            id=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        ).select_for_update(skip_locked=True).first()
        if delivery is None:
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(
            seconds=settings.email_backoff_seconds * 2 ** (delivery.attempts - 1))
        await delivery.save(update_fields=["attempts", "next_attempt_at"])
        return delivery


async def _deliver(delivery: NotificationDelivery, settings: Settings) -> DeliveryStatus:
    assert settings.smtp_url is not None
    try:
        built = await build_message(delivery, settings)
        if built is None:
            delivery.status = DeliveryStatus.SKIPPED
        else:
            message, address = built
            await aiosmtplib.send(message, recipients=[address],
                                  **smtp_options(settings.smtp_url))
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = clock.now()
    except Exception as exc:  # the SMTP server, the network, or a bug: log, retry later
        log.warning("e-mail for notification %s, attempt %d: %r", delivery.notification_id,
                    delivery.attempts, exc)
        delivery.last_error = repr(exc)[:2000]
        if delivery.attempts >= settings.email_attempts:
            delivery.status = DeliveryStatus.FAILED
    await delivery.save(update_fields=["status", "sent_at", "last_error"])
    return delivery.status


async def send_due_emails(settings: Settings | None = None) -> int:
    """Plans and sends one batch of due e-mails; returns how many it handled (sent, skipped
    or failed), so that a caller can repeat until there is nothing left."""
    settings = settings or get_settings()
    if not settings.smtp_url:
        return 0
    await plan_emails(settings)
    ids = await NotificationDelivery.filter(
        channel=DeliveryChannel.EMAIL, status=DeliveryStatus.PENDING,
        next_attempt_at__lte=clock.now(),
    ).order_by("id").limit(BATCH).values_list("id", flat=True)
    handled = 0
    for delivery_id in cast(list[int], ids):
        delivery = await _claim(delivery_id, settings)
        if delivery is not None:
            status = await _deliver(delivery, settings)
            job_done("email", "retry" if status is DeliveryStatus.PENDING else status.value.lower())
            handled += 1
    return handled
