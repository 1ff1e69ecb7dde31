"""Credits granted by an admin, and notifications marked read."""

from collections.abc import Sequence

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core import clock
from core.errors import ErrorCode
from models import credits
from models.accounts import Account
from models.errors import DomainError
from models.notifications import Notification
from resolvers import access


async def grant_credits(admin: Account, account_id: int | None, amount: int,
                        reference: str) -> Account:
    access.require_admin(admin)
    if account_id is None or not await Account.filter(id=account_id).exists():
        raise DomainError(ErrorCode.NOT_FOUND, "Account not found.", "accountId")
    if amount <= 0:
        raise DomainError(ErrorCode.INVALID_INPUT, "The amount must be positive.", "amount")
    if not reference.strip() or len(reference) > 255:
        raise DomainError(ErrorCode.INVALID_INPUT, "A reference has 1 to 255 characters.",
                          "reference")
    try:
        async with in_transaction():
            await credits.grant(account_id, amount, reference)
    except IntegrityError:
        pass  # a concurrent grant with the same reference won: granting twice credits once
    return await Account.get(id=account_id)


async def mark_read(account: Account, ids: Sequence[int | None] | None) -> None:
    query = Notification.filter(recipient_id=account.id, read_at__isnull=True)
    if ids is not None:
        wanted = [i for i in ids if i is not None]
        own = await access.own_notification_ids(account, wanted)
        for i, id_ in enumerate(ids):
            if id_ not in own:  # another account's notification is as unknown as a bad id
                raise DomainError(ErrorCode.NOT_FOUND, "Notification not found.", f"ids[{i}]")
        query = query.filter(id__in=wanted)
    await query.update(read_at=clock.now())
