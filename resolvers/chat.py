"""Chat storage (SPEC §7): one conversation per pair of accounts."""

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import clock
from core.errors import ErrorCode
from models.accounts import Account
from models.chat import Conversation, Message
from models.enums import MessageKind, NotificationKind, OutboxKind
from models.errors import DomainError
from models.texts import render
from resolvers import access
from resolvers.outbox import notify, record

MAX_MESSAGE_LENGTH = 10_000


async def conversation_between(a: int, b: int) -> Conversation:
    low, high = sorted((a, b))
    found = await Conversation.get_or_none(account_low_id=low, account_high_id=high)
    if found is not None:
        return found
    try:
        async with in_transaction():  # a savepoint: a lost race must not abort the caller
            # Starts as "active now", so that conversations sort by latest message and
            # a new one without messages still has a place in the list.
            now = clock.now()
            return await Conversation.create(account_low_id=low, account_high_id=high,
                                             last_message_at=now, created_at=now)
    except IntegrityError:
        return await Conversation.get(account_low_id=low, account_high_id=high)


async def start_conversation(account: Account, with_account_id: int | None) -> Conversation:
    if with_account_id is None or not await Account.filter(id=with_account_id).exists():
        raise DomainError(ErrorCode.NOT_FOUND, "Account not found.", "withAccountId")
    if with_account_id == account.id:
        raise DomainError(ErrorCode.INVALID_INPUT, "A conversation needs another account.",
                          "withAccountId")
    return await conversation_between(account.id, with_account_id)


async def send_message(account: Account, conversation_id: int | None, body: str) -> Message:
    text = body.strip()
    if not text or len(text) > MAX_MESSAGE_LENGTH:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"A message has 1 to {MAX_MESSAGE_LENGTH} characters.",
            "body",
        )
    async with in_transaction():
        conversation = await access.participant_conversation(account, conversation_id)
        now = clock.now()
        message = await Message.create(conversation=conversation, author_id=account.id,
                                       kind=MessageKind.TEXT, body=text, created_at=now)
        conversation.last_message_at = now
        await conversation.save(update_fields=["last_message_at"])
        await record(OutboxKind.MESSAGE_ADDED,
                     {"message_id": message.id, "conversation_id": conversation.id})
        low, high = conversation.participant_ids
        recipient = await Account.get(id=high if low == account.id else low)
        title, body_text = render(NotificationKind.NEW_MESSAGE, other=account.display_name,
                                  when=None, timezone=recipient.timezone, text=text[:200])
        await notify(recipient.id, NotificationKind.NEW_MESSAGE, title, body_text)
    return message
