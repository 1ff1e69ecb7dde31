"""Concurrent actions on PostgreSQL (SPEC §2: each action locks the meeting row, so two
concurrent actions on one meeting never both apply; credits never go negative)."""

import asyncio
from collections import Counter
from typing import Any

import httpx
import pytest
from tortoise.transactions import in_transaction

from core.clock import FrozenClock
from models.accounts import Account
from models.enums import CreditEntryKind, CreditPaymentStatus, MeetingAction, MeetingStatus
from models.errors import DomainError
from models.ledger import CreditEntry
from models.meetings import Meeting, TimelineEvent
from resolvers import meetings as actions
from schema.scalars import from_global_id
from tests.support.client import at, market
from tests.support.clock import T0

pytestmark = pytest.mark.pg


def _pk(global_id: str, kind: str) -> int:
    pk = from_global_id(global_id, kind)
    assert pk is not None
    return pk


async def _assert_balance_consistent(account_id: int) -> None:
    account = await Account.get(id=account_id)
    entries = await CreditEntry.filter(account_id=account_id)
    assert account.credits_available >= 0
    assert sum(e.available_delta for e in entries) == account.credits_available
    assert sum(e.blocked_delta for e in entries) == account.credits_blocked
    held = await Meeting.filter(user_id=account_id, credit_status=CreditPaymentStatus.BLOCKED)
    assert account.credits_blocked == sum(m.price_credits for m in held)


async def test_select_for_update_locks_inside_in_transaction(orm: str,
                                                             client: httpx.AsyncClient) -> None:
    """The lock act() relies on: a second SELECT … FOR UPDATE waits for the first
    transaction to end (and a plain read does not, so the test can tell the difference)."""
    m = await market(client)
    meeting_id = _pk((await m.request(at(T0, days=2)))["meeting"]["id"], "Meeting")
    assert "FOR UPDATE" in Meeting.select_for_update().filter(id=meeting_id).sql()
    loop = asyncio.get_running_loop()

    async def race(locking_reader: bool) -> tuple[float, float]:
        locked, times = asyncio.Event(), {}

        async def holder() -> None:
            async with in_transaction():
                await Meeting.select_for_update().get(id=meeting_id)
                locked.set()
                await asyncio.sleep(0.4)
                times["released"] = loop.time()

        async def reader() -> None:
            await locked.wait()
            async with in_transaction():
                query = Meeting.select_for_update() if locking_reader else Meeting
                await query.get(id=meeting_id)
                times["read"] = loop.time()

        await asyncio.gather(holder(), reader())
        return times["released"], times["read"]

    released, read = await race(locking_reader=True)
    assert read >= released, "SELECT FOR UPDATE did not wait for the lock holder"
    released, read = await race(locking_reader=False)
    assert read < released, "a plain read should not wait"


async def test_twenty_concurrent_confirms_apply_once(client: httpx.AsyncClient,
                                                     frozen: FrozenClock) -> None:
    m = await market(client)
    meeting = (await m.request(at(T0, days=3)))["meeting"]
    version = meeting["version"]

    async def confirm(expected: bool) -> dict[str, Any]:
        ref: dict[str, Any] = {"meetingId": meeting["id"]}
        if expected:
            ref["expectedVersion"] = version
        return await m.expert.mutate("confirmMeeting", ref, "MeetingRefInput")

    results = await asyncio.gather(*(confirm(i % 2 == 0) for i in range(20)))
    ok = [r for r in results if r["errors"] == []]
    assert len(ok) == 1, Counter(r["errors"][0]["code"] if r["errors"] else "ok" for r in results)
    assert ok[0]["meeting"]["status"] == "AGREED"
    assert ok[0]["meeting"]["version"] == version + 1
    codes = Counter(r["errors"][0]["code"] for r in results if r["errors"])
    assert set(codes) <= {"INVALID_STATE", "STALE_VERSION"} and sum(codes.values()) == 19
    pk = _pk(meeting["id"], "Meeting")
    row = await Meeting.get(id=pk)
    assert row.status is MeetingStatus.AGREED and row.version == version + 1
    approvals = await TimelineEvent.filter(meeting_id=pk, kind="APPROVED_BY_EXPERT").count()
    assert approvals == 1
    assert await m.user.credits() == {"available": 450, "blocked": 50}
    await _assert_balance_consistent(_pk(m.user.id, "Account"))


async def test_concurrent_requests_cannot_overspend(client: httpx.AsyncClient,
                                                    frozen: FrozenClock) -> None:
    m = await market(client, credits=150)  # exactly three meetings at 50
    results = await asyncio.gather(*(m.request(at(T0, days=2, hours=2 * i)) for i in range(10)))
    ok = [r for r in results if r["errors"] == []]
    assert len(ok) == 3
    assert all(r["errors"][0]["code"] == "INSUFFICIENT_CREDITS" for r in results if r["errors"])
    assert await m.user.credits() == {"available": 0, "blocked": 150}
    user_id = _pk(m.user.id, "Account")
    await _assert_balance_consistent(user_id)
    # A refused request leaves no meeting and no ledger entry behind.
    assert await Meeting.filter(user_id=user_id).count() == 3
    assert await CreditEntry.filter(account_id=user_id, kind=CreditEntryKind.BLOCK).count() == 3


async def test_racing_parties_one_action_wins(client: httpx.AsyncClient,
                                              frozen: FrozenClock) -> None:
    """The expert confirms and declines while the user withdraws, all at once, on several
    meetings: on each, exactly one action applies and the credits follow it."""
    m = await market(client)
    user = await Account.get(id=_pk(m.user.id, "Account"))
    expert = await Account.get(id=_pk(m.expert.id, "Account"))
    ids = [_pk((await m.request(at(T0, days=3, hours=2 * i)))["meeting"]["id"], "Meeting")
           for i in range(5)]

    async def attempt(account: Account, action: MeetingAction, meeting_id: int,
                      reason: str | None = None) -> str:
        try:
            await actions.act(account, action, meeting_id, reason_code=reason)
        except DomainError as err:
            return err.code.value
        return action.value

    for meeting_id in ids:
        outcomes = await asyncio.gather(
            attempt(expert, MeetingAction.CONFIRM, meeting_id),
            attempt(expert, MeetingAction.DECLINE, meeting_id, "NOT_AVAILABLE"),
            attempt(user, MeetingAction.CANCEL, meeting_id),
            attempt(expert, MeetingAction.CONFIRM, meeting_id),
            attempt(user, MeetingAction.CANCEL, meeting_id),
        )
        winners = [o for o in outcomes if o in MeetingAction.__members__]
        assert len(winners) == 1, outcomes
        # The losers see the winner's state: a user's cancel without a reason on a meeting
        # that became AGREED is refused for the missing reason (A6′ needs one).
        assert all(o in ("INVALID_STATE", "INVALID_REASON") for o in outcomes
                   if o not in winners), outcomes
        row = await Meeting.get(id=meeting_id)
        expected = {"CONFIRM": (MeetingStatus.AGREED, CreditPaymentStatus.BLOCKED),
                    "DECLINE": (MeetingStatus.REJECTED, CreditPaymentStatus.RETURNED),
                    "CANCEL": (MeetingStatus.CANCELLED, CreditPaymentStatus.RETURNED)}
        assert (row.status, row.credit_status) == expected[winners[0]]
        assert row.version == 2
    await _assert_balance_consistent(user.id)
