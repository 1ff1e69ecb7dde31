"""E-mail through a real SMTP server (aiosmtpd), with the calendar invite (SPEC §5)."""

import email
from collections.abc import Callable
from datetime import timedelta
from email.message import Message

import httpx
from icalendar import Calendar

from core.clock import FrozenClock
from models.deliveries import DeliveryChannel, DeliveryStatus, NotificationDelivery
from models.notifications import Notification
from tests.support.client import at, party
from tests.support.clock import T0
from tests.support.peers import Inbox
from tests.support.ports import free_port
from tests.support.workers import agreed, cancel, move, pk, send_due_emails, set_email
from workers.conferencing.relay import relay_conference_jobs


def parse(data: bytes) -> tuple[Message, Calendar | None]:
    message = email.message_from_bytes(data)
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return message, Calendar.from_ical(payload)
    return message, None


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    return ""


def invite(cal: Calendar | None) -> tuple[str, str, int]:
    assert cal is not None
    [event] = cal.walk("VEVENT")
    return str(cal["METHOD"]), str(event["UID"]), int(str(event["SEQUENCE"]))


async def test_invite_request_move_cancel(client: httpx.AsyncClient, frozen: FrozenClock,
                                          env: Callable[..., None],
                                          smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env(smtp_url=f"smtp://127.0.0.1:{port}")
    start = at(T0, days=3)
    m, mid = await agreed(client, start)
    await set_email(m.user, f"user-{mid}@example.com")
    await set_email(m.expert, f"expert-{mid}@example.com")
    await relay_conference_jobs(in_process=True)
    await send_due_emails()
    [request_mail] = inbox.to(f"user-{mid}@example.com")
    message, cal = parse(request_mail)
    assert message["Subject"] == "Meeting confirmed"
    assert "notification-" in message["Message-ID"]
    method, uid, sequence = invite(cal)
    assert (method, sequence) == ("REQUEST", 0)
    assert cal is not None
    [event] = cal.walk("VEVENT")
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(hours=1)
    assert str(event["LOCATION"]).startswith("https://")
    # The expert's request notification (before agreement) carries no invite.
    [expert_mail] = inbox.to(f"expert-{mid}@example.com")
    assert parse(expert_mail)[0]["Subject"] == "New meeting request"
    assert parse(expert_mail)[1] is None

    await send_due_emails()  # nothing twice
    assert len(inbox.to(f"user-{mid}@example.com")) == 1

    await move(m, mid, at(T0, days=5))  # the user confirms: the expert is told
    await send_due_emails()
    moved_mails = inbox.to(f"expert-{mid}@example.com")[1:]
    subjects = [parse(d)[0]["Subject"] for d in moved_mails]
    assert "Alternative date confirmed" in subjects
    confirmed = moved_mails[subjects.index("Alternative date confirmed")]
    assert invite(parse(confirmed)[1]) == ("REQUEST", uid, 1)

    await cancel(m, mid)
    await send_due_emails()
    user_mails = [parse(d) for d in inbox.to(f"user-{mid}@example.com")]
    assert [msg["Subject"] for msg, _ in user_mails] == [
        "Meeting confirmed", "Expert proposes a new date", "Cancellation of meeting by expert"]
    assert user_mails[1][1] is None  # a proposal is not a date change yet
    message, cal = user_mails[2]
    assert message["Subject"] == "Cancellation of meeting by expert"
    assert invite(cal) == ("CANCEL", uid, 2)
    deliveries = await NotificationDelivery.filter(
        notification__meeting_id=mid, channel=DeliveryChannel.EMAIL)
    assert {d.status for d in deliveries} == {DeliveryStatus.SENT}


async def test_texts_in_the_recipients_time_zone(client: httpx.AsyncClient,
                                                 frozen: FrozenClock, env: Callable[..., None],
                                                 smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env(smtp_url=f"smtp://127.0.0.1:{port}")
    from tests.support.client import market

    m = await market(client)
    tokyo = await party(client, tz="Asia/Tokyo")
    await m.grant(tokyo, 100)
    requested = await m.request(at(T0, days=1), user=tokyo)
    assert requested["errors"] == []
    await set_email(tokyo, f"tokyo-{tokyo.id}@example.com")
    await m.expert.mutate("confirmMeeting", {"meetingId": requested["meeting"]["id"]},
                          "MeetingRefInput")
    await send_due_emails()
    [mail] = inbox.to(f"tokyo-{tokyo.id}@example.com")
    body = text_of(parse(mail)[0])
    assert "17:00 JST" in body, body  # 08:00 UTC


async def test_smtp_down_retried_then_failed(client: httpx.AsyncClient, frozen: FrozenClock,
                                             env: Callable[..., None],
                                             smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env(smtp_url=f"smtp://127.0.0.1:{free_port()}", email_attempts=3,
        email_backoff_seconds=60)  # nobody listens there
    m, mid = await agreed(client, at(T0, days=3))
    address = f"user-{mid}@example.com"
    await set_email(m.user, address)
    note = await Notification.filter(meeting_id=mid, recipient_id=pk(m.user.id)).first()
    assert note is not None
    await send_due_emails()
    delivery = await NotificationDelivery.get(notification_id=note.id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.last_error
    await send_due_emails()  # not due yet: backoff
    assert (await NotificationDelivery.get(id=delivery.id)).attempts == 1

    env(smtp_url=f"smtp://127.0.0.1:{port}")  # the server is back
    frozen.advance(timedelta(seconds=60))
    await send_due_emails()
    delivery = await NotificationDelivery.get(id=delivery.id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 2)
    assert len(inbox.to(address)) == 1

    # A second meeting whose e-mail never gets through.
    env(smtp_url=f"smtp://127.0.0.1:{free_port()}")
    m2, mid2 = await agreed(client, at(T0, days=4))
    await set_email(m2.user, f"user-{mid2}@example.com")
    note2 = await Notification.filter(meeting_id=mid2, recipient_id=pk(m2.user.id)).first()
    assert note2 is not None
    for _ in range(5):
        await send_due_emails()
        frozen.advance(timedelta(minutes=10))
    failed = await NotificationDelivery.get(notification_id=note2.id)
    assert (failed.status, failed.attempts) == (DeliveryStatus.FAILED, 3)


async def test_no_address_no_mail(client: httpx.AsyncClient, frozen: FrozenClock,
                                  env: Callable[..., None], smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env(smtp_url=f"smtp://127.0.0.1:{port}")
    m, mid = await agreed(client, at(T0, days=3))
    await send_due_emails()
    note = await Notification.filter(meeting_id=mid, recipient_id=pk(m.user.id)).first()
    assert note is not None
    delivery = await NotificationDelivery.get(notification_id=note.id)
    assert delivery.status is DeliveryStatus.SKIPPED
