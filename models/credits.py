"""Ledger operations. Each moves a balance with a conditional update (never read-modify-write)
and appends the matching entry, inside the caller's transaction. A meeting's moves (block,
return, capture) are `Move`s, made and written with the meeting's change
(resolvers/effects.record_change)."""

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Move:
    """A ledger entry (not yet written) and the change of its account's balances it records,
    made only if no balance goes below zero; `refused` is raised when one would."""

    entry: CreditEntry
    refused: Exception

    def deltas(self) -> dict[str, int]:
        """The balances it changes (column: delta)."""
        deltas = {"credits_available": self.entry.available_delta,
                  "credits_blocked": self.entry.blocked_delta}
        return {column: delta for column, delta in deltas.items() if delta}


async def apply(moves: Sequence[Move]) -> None:
    """The balance changes, one conditional UPDATE each (the entries are written by the
    caller). resolvers/effects.record_change makes the same changes in its one statement on
    PostgreSQL."""
    for move in moves:
        deltas = move.deltas()
        # Only a balance that decreases can go below zero.
        at_least = {f"{column}__gte": -delta for column, delta in deltas.items() if delta < 0}
        if not await Account.filter(id=move.entry.account_id, **at_least).update(
                **{column: F(column) + delta for column, delta in deltas.items()}):
            raise move.refused


def block(user_id: int, amount: int, meeting_id: int) -> list[Move]:
    return [Move(_entry(user_id, CreditEntryKind.BLOCK, -amount, amount, meeting_id),
                 DomainError(ErrorCode.INSUFFICIENT_CREDITS,
                             f"This meeting costs {amount} credits; not enough credits are "
                             "available."))]


def _broken(account_id: int, amount: int) -> Exception:
    # The meeting says BLOCKED but the balance disagrees: an invariant is broken, so stop
    # rather than create credits.
    return RuntimeError(f"account {account_id} holds fewer blocked credits than {amount}")


def return_blocked(user_id: int, amount: int, meeting_id: int) -> list[Move]:
    return [Move(_entry(user_id, CreditEntryKind.RETURN, amount, -amount, meeting_id),
                 _broken(user_id, amount))]


def capture(user_id: int, expert_id: int, amount: int, meeting_id: int) -> list[Move]:
    return [Move(_entry(user_id, CreditEntryKind.CAPTURE, 0, -amount, meeting_id),
                 _broken(user_id, amount)),
            Move(_entry(expert_id, CreditEntryKind.CAPTURE, amount, 0, meeting_id),
                 _broken(expert_id, amount))]  # an increase: never refused


def _entry(account_id: int, kind: CreditEntryKind, available_delta: int, blocked_delta: int,
           meeting_id: int) -> CreditEntry:
    return CreditEntry(account_id=account_id, kind=kind, available_delta=available_delta,
                       blocked_delta=blocked_delta, meeting_id=meeting_id,
                       created_at=clock.now())
