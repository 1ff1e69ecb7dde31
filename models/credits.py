"""Ledger operations. Each moves a balance with a conditional update (never read-modify-write)
and appends the matching entry, inside the caller's transaction."""

from tortoise.expressions import F

from core import clock
from core.errors import ErrorCode
from models.accounts import Account
from models.enums import CreditEntryKind
from models.errors import DomainError
from models.ledger import CreditEntry

MAX_BALANCE = 2**31 - 1


async def grant(account_id: int, amount: int, reference: str) -> bool:
    """Adds `amount` once per reference; False when the reference was already granted."""
    if await CreditEntry.filter(reference=reference).exists():
        return False
    # Balances are 32-bit integers in the database and in the API (GraphQL's Int).
    if not await Account.filter(
        id=account_id, credits_available__lte=MAX_BALANCE - amount
    ).update(credits_available=F("credits_available") + amount):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            f"A balance cannot exceed {MAX_BALANCE} credits.",
            "amount",
        )
    await CreditEntry.create(
        account_id=account_id,
        kind=CreditEntryKind.GRANT,
        available_delta=amount,
        blocked_delta=0,
        reference=reference,
        created_at=clock.now(),
    )
    return True


async def block(user_id: int, amount: int, meeting_id: int) -> None:
    moved = await Account.filter(id=user_id, credits_available__gte=amount).update(
        credits_available=F("credits_available") - amount,
        credits_blocked=F("credits_blocked") + amount,
    )
    if not moved:
        raise DomainError(
            ErrorCode.INSUFFICIENT_CREDITS,
            f"This meeting costs {amount} credits; not enough credits are available.",
        )
    await CreditEntry.create(
        account_id=user_id,
        kind=CreditEntryKind.BLOCK,
        available_delta=-amount,
        blocked_delta=amount,
        meeting_id=meeting_id,
        created_at=clock.now(),
    )


async def _take_blocked(user_id: int, amount: int) -> None:
    taken = await Account.filter(id=user_id, credits_blocked__gte=amount).update(
        credits_blocked=F("credits_blocked") - amount
    )
    if not taken:
        # The meeting says BLOCKED but the balance disagrees: an invariant is broken, so stop
        # rather than create credits.
        raise RuntimeError(f"account {user_id} holds fewer blocked credits than {amount}")


async def return_blocked(user_id: int, amount: int, meeting_id: int) -> None:
    await _take_blocked(user_id, amount)
    await Account.filter(id=user_id).update(credits_available=F("credits_available") + amount)
    await CreditEntry.create(
        account_id=user_id,
        kind=CreditEntryKind.RETURN,
        available_delta=amount,
        blocked_delta=-amount,
        meeting_id=meeting_id,
        created_at=clock.now(),
    )


async def capture(user_id: int, expert_id: int, amount: int, meeting_id: int) -> None:
    await _take_blocked(user_id, amount)
    await Account.filter(id=expert_id).update(credits_available=F("credits_available") + amount)
    now = clock.now()
    await CreditEntry.bulk_create(
        [
            CreditEntry(
                account_id=user_id,
                kind=CreditEntryKind.CAPTURE,
                available_delta=0,
                blocked_delta=-amount,
                meeting_id=meeting_id,
                created_at=now,
            ),
            CreditEntry(
                account_id=expert_id,
                kind=CreditEntryKind.CAPTURE,
                available_delta=amount,
                blocked_delta=0,
                meeting_id=meeting_id,
                created_at=now,
            ),
        ]
    )
