"""Ledger operations. Each moves a balance with a conditional update (never read-modify-write)
and appends the matching entry, inside the caller's transaction. The meeting's moves
(block, return, capture) return their entries unsaved: they are written with the meeting's
change (resolvers/effects.record_change), in the same transaction."""

from typing import Any

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


async def block(user_id: int, amount: int, meeting_id: int) -> list[CreditEntry]:
    moved = await Account.filter(id=user_id, credits_available__gte=amount).update(
        credits_available=F("credits_available") - amount,
        credits_blocked=F("credits_blocked") + amount,
    )
    if not moved:
        raise DomainError(
            ErrorCode.INSUFFICIENT_CREDITS,
            f"This meeting costs {amount} credits; not enough credits are available.",
        )
    return [_entry(user_id, CreditEntryKind.BLOCK, -amount, amount, meeting_id)]


async def _take_blocked(user_id: int, amount: int, *, back_to_available: bool) -> None:
    moves: dict[str, Any] = {"credits_blocked": F("credits_blocked") - amount}
    if back_to_available:  # in the same UPDATE: one round trip less
        moves["credits_available"] = F("credits_available") + amount
    taken = await Account.filter(id=user_id, credits_blocked__gte=amount).update(**moves)
    if not taken:
        # The meeting says BLOCKED but the balance disagrees: an invariant is broken, so stop
        # rather than create credits.
        raise RuntimeError(f"account {user_id} holds fewer blocked credits than {amount}")


async def return_blocked(user_id: int, amount: int, meeting_id: int) -> list[CreditEntry]:
    await _take_blocked(user_id, amount, back_to_available=True)
    return [_entry(user_id, CreditEntryKind.RETURN, amount, -amount, meeting_id)]


async def capture(user_id: int, expert_id: int, amount: int,
                  meeting_id: int) -> list[CreditEntry]:
    await _take_blocked(user_id, amount, back_to_available=False)
    await Account.filter(id=expert_id).update(credits_available=F("credits_available") + amount)
    return [_entry(user_id, CreditEntryKind.CAPTURE, 0, -amount, meeting_id),
            _entry(expert_id, CreditEntryKind.CAPTURE, amount, 0, meeting_id)]


def _entry(account_id: int, kind: CreditEntryKind, available_delta: int, blocked_delta: int,
           meeting_id: int) -> CreditEntry:
    return CreditEntry(account_id=account_id, kind=kind, available_delta=available_delta,
                       blocked_delta=blocked_delta, meeting_id=meeting_id,
                       created_at=clock.now())
