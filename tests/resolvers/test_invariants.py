"""SPEC §1 invariants under random sequences of actions (property-based, against the database).

Each example gets fresh accounts (two users, one expert free all week) and a frozen clock at
T0, then runs random requests, proposals, participant actions and system sweeps (with the clock
moved) through the application functions in resolvers/. After every step the credit invariants
are checked against the database, and a refused step must have changed nothing.
"""

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise.expressions import Q

from core import clock
from core.clock import FrozenClock
from models import lifecycle
from models.accounts import Account
from models.enums import (
    CreditEntryKind,
    CreditPaymentStatus,
    MeetingAction,
    MeetingStatus,
    Party,
)
from models.errors import DomainError
from models.ledger import CreditEntry
from models.lifecycle import state_of
from models.meetings import Meeting
from models.notifications import Notification
from models.outbox import OutboxEntry
from resolvers import account_actions, experts, system
from resolvers import meetings as actions
from tests.support.clock import T0

# What the examples did, printed at the end (pytest -s) to show the sequences get somewhere.
STATS: Counter[str] = Counter()
OFFSETS_H = [1, 3, 26, 49, 50, 75, 120]
REASONS = {
    MeetingAction.DECLINE: "NOT_AVAILABLE",
    MeetingAction.REJECT_ALTERNATIVE_DATE: "NOT_AVAILABLE",
    MeetingAction.CANCEL: "SCHEDULE_CONFLICT",
}

request_step = st.tuples(st.just("request"), st.integers(0, 1), st.sampled_from(OFFSETS_H))
propose_step = st.tuples(st.just("propose"), st.integers(0, 1), st.sampled_from(OFFSETS_H),
                         st.sampled_from([30, 50, 80]))
act_step = st.tuples(
    st.just("act"),
    # Mostly one of the actions the lifecycle offers now (so sequences get deep), sometimes
    # any action at all (which must then be refused without a change).
    st.sampled_from([True, True, True, True, False]).flatmap(
        lambda offered: st.sampled_from(range(420)) if offered
        else st.sampled_from(list(MeetingAction))),
    st.sampled_from(["USER", "EXPERT", "EXPERT", "USER", "STRANGER"]),
    st.integers(0, 4),  # meeting index (modulo the meetings so far): the first few get deep
    st.sampled_from(OFFSETS_H),  # new date, for reschedules
    st.booleans(),  # acknowledgeLateCancellation
    st.sampled_from([True, True, True, False]),  # gives a reason
    st.booleans(),  # expectedVersion: current or none
)
sweep_step = st.tuples(st.just("sweep"), st.sampled_from([1, 2, 6, 24, 60]))
KINDS = {"request": request_step, "propose": propose_step, "act": act_step, "sweep": sweep_step}
# Mostly participant actions, so that sequences reach the deeper states.
steps_strategy = st.lists(
    st.sampled_from(["request", "propose", "act", "act", "act", "act", "act", "act", "sweep"])
    .flatmap(KINDS.__getitem__),
    min_size=8, max_size=30,
)


@dataclass
class World:
    users: list[Account]
    expert: Account
    service_id: int
    skill_id: int
    meeting_ids: list[int]
    label: str = ""  # what the current step does, for the statistics

    @property
    def account_ids(self) -> list[int]:
        return [u.id for u in self.users] + [self.expert.id]


async def _account(name: str, admin: bool = False) -> Account:
    return await Account.create(key=f"inv-{name}-{uuid.uuid4().hex[:10]}", display_name=name,
                                is_admin=admin, created_at=clock.now())


async def _world() -> World:
    admin = await _account("admin", admin=True)
    expert = await _account("expert")
    users = [await _account("user1"), await _account("user2")]
    service = await experts.create_service(expert, "Advice", None, ["Advice"], 60, 50)
    await experts.set_weekly(expert, "UTC", [experts.RuleInput(d, "00:00", "24:00")
                                             for d in range(7)])
    skill = (await service.skills.all())[0]
    # user1 can pay for two meetings at most, user2 for six.
    await account_actions.grant_credits(admin, users[0].id, 120, uuid.uuid4().hex)
    await account_actions.grant_credits(admin, users[1].id, 300, uuid.uuid4().hex)
    return World(users, expert, service.id, skill.id, [])


def blocked_rule(m: Meeting) -> bool:
    return m.status is MeetingStatus.AGREED or (
        m.status is MeetingStatus.AWAITING_APPROVAL and m.approved_by_user)


async def snapshot(world: World) -> tuple[Any, ...]:
    accounts = await Account.filter(id__in=world.account_ids).order_by("id").values_list(
        "id", "credits_available", "credits_blocked")
    meetings = await Meeting.filter(id__in=world.meeting_ids).order_by("id").values_list(
        "id", "version", "status", "credit_status", "starts_at", "alt_starts_at",
        "approved_by_user", "approved_by_expert")
    entries = await CreditEntry.filter(account_id__in=world.account_ids).count()
    return tuple(accounts), tuple(meetings), entries


async def check_invariants(world: World) -> None:
    ids = world.account_ids
    accounts = await Account.filter(id__in=ids)
    meetings = await Meeting.filter(Q(user_id__in=ids) | Q(expert_id__in=ids))
    assert {m.id for m in meetings} == set(world.meeting_ids)
    entries = await CreditEntry.filter(account_id__in=ids)
    for account in accounts:
        assert account.credits_available >= 0, account.id
        assert account.credits_blocked >= 0, account.id
        holds = sum(m.price_credits for m in meetings
                    if m.user_id == account.id and m.credit_status is CreditPaymentStatus.BLOCKED)
        assert account.credits_blocked == holds, (account.id, account.credits_blocked, holds)
        own = [e for e in entries if e.account_id == account.id]
        assert sum(e.available_delta for e in own) == account.credits_available
        assert sum(e.blocked_delta for e in own) == account.credits_blocked
    granted = sum(e.available_delta for e in entries if e.kind is CreditEntryKind.GRANT)
    assert sum(a.credits_available + a.credits_blocked for a in accounts) == granted
    for m in meetings:
        assert (m.credit_status is CreditPaymentStatus.BLOCKED) == blocked_rule(m), (
            m.id, m.status, m.approved_by_user, m.credit_status)
        if m.status not in (MeetingStatus.AWAITING_APPROVAL, MeetingStatus.AGREED,
                            MeetingStatus.REJECTED):
            assert m.alt_starts_at is None and m.alt_proposed_by is None


async def run_step(world: World, frozen: FrozenClock, step: tuple[Any, ...]) -> None:
    now = frozen.now()
    kind = world.label = step[0]
    if kind == "request":
        _, who, hours = step
        outcome = await actions.request_meeting(world.users[who], world.service_id,
                                                world.skill_id, now + timedelta(hours=hours))
        world.meeting_ids.append(outcome.meeting.id)
    elif kind == "propose":
        _, who, hours, price = step
        outcome = await actions.propose_meeting(
            world.expert, user_id=world.users[who].id, from_meeting_id=None,
            conversation_id=None, service_id=world.service_id, skill_id=world.skill_id,
            starts_at=now + timedelta(hours=hours), length_minutes=60, price_credits=price)
        world.meeting_ids.append(outcome.meeting.id)
    elif kind == "sweep":
        frozen.advance(timedelta(hours=step[1]))
        await system.sweep()
    else:
        _, action, who, index, hours, ack, with_reason, versioned = step
        if not world.meeting_ids:
            world.label = "act without meetings"
            return
        meeting = await Meeting.get(id=world.meeting_ids[index % len(world.meeting_ids)])
        if isinstance(action, int):
            pick = action
            party = Party.EXPERT if who == "EXPERT" else Party.USER
            offered = lifecycle.available_actions(party, state_of(meeting))
            if not offered:
                who = party.other.value
                offered = lifecycle.available_actions(party.other, state_of(meeting))
            action = offered[pick % len(offered)] if offered else MeetingAction.CONFIRM
        if who == "USER":
            account = await Account.get(id=meeting.user_id)
        elif who == "EXPERT":
            account = world.expert
        else:
            account = next(u for u in world.users if u.id != meeting.user_id)
        world.label = f"{action.value}/{who}"
        await actions.act(
            account, action, meeting.id,
            expected_version=meeting.version if versioned else None,
            reason_code=REASONS.get(action) if with_reason else None,
            acknowledge_late=ack,
            new_starts_at=(now + timedelta(hours=hours)
                           if action is MeetingAction.RESCHEDULE else None),
        )


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=steps_strategy)
async def test_credit_invariants_hold_for_any_sequence(orm: str, steps: list) -> None:
    frozen = FrozenClock(T0)
    clock.use(frozen)
    outbox_start = await OutboxEntry.all().order_by("-id").first().values_list("id", flat=True)
    world = None
    try:
        world = await _world()
        await check_invariants(world)
        # Every sequence starts from a few meetings, so that its actions have something to act on.
        seed = [("request", 1, 50), ("propose", 0, 75, 50), ("request", 0, 26)]
        for step in [*seed, *steps]:
            before = await snapshot(world)
            try:
                await run_step(world, frozen, step)
                STATS[f"ok {world.label}"] += 1
            except DomainError as err:
                STATS[f"{err.code.value} {world.label}"] += 1
                # A refused action changes nothing (SPEC §10).
                assert await snapshot(world) == before, step
            await check_invariants(world)
        # Whatever happened, once everything is over no credit stays blocked.
        frozen.advance(timedelta(days=30))
        await system.sweep()
        await check_invariants(world)
        assert not await Meeting.filter(id__in=world.meeting_ids,
                                        credit_status=CreditPaymentStatus.BLOCKED).exists()
        assert all(a.credits_blocked == 0
                   for a in await Account.filter(id__in=world.account_ids))
    finally:
        clock.use(clock.Clock())
        # Hundreds of undelivered notifications and outbox rows per run would only be noise
        # for the workers' tests that run later on the same database.
        if world is not None:
            await Notification.filter(recipient_id__in=world.account_ids).delete()
        await OutboxEntry.filter(id__gt=outbox_start or 0).delete()


def test_print_stats() -> None:
    """Runs after the property (file order) and shows what the random sequences covered."""
    for label, count in sorted(STATS.items()):
        print(f"{count:4d} {label}")
