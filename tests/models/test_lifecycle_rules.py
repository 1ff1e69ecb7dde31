"""The lifecycle table of SPEC §3/§4 as pure functions: decide(), available_actions(),
awaiting_response_from(), next_state(), is_late(). No database."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ErrorCode
from models import lifecycle
from models.enums import CreditPaymentStatus as C
from models.enums import MeetingAction as A
from models.enums import MeetingStatus as S
from models.enums import NotificationKind as N
from models.enums import Party
from models.enums import TimelineEventKind as K
from models.errors import DomainError
from models.lifecycle import Alternative, Creation, CreditMove, State, SystemAction

U, E = Party.USER, Party.EXPERT


def st_(status: S, user: bool, expert: bool, alt: Party | None = None,
        credits: C = C.NONE) -> State:
    return State(status=status, approved_by_user=user, approved_by_expert=expert,
                 alt_proposed_by=alt, credit_status=credits)


NEUTRAL = st_(S.AWAITING_APPROVAL, False, False)
REQUESTED = st_(S.AWAITING_APPROVAL, True, False, credits=C.BLOCKED)
PROPOSED = st_(S.AWAITING_APPROVAL, False, True)
COUNTERED = st_(S.AWAITING_APPROVAL, False, True, U)
AGREED = st_(S.AGREED, True, True, credits=C.BLOCKED)
AGREED_ALT_E = st_(S.AGREED, True, True, E, C.BLOCKED)
AGREED_ALT_U = st_(S.AGREED, True, True, U, C.BLOCKED)
REJECTED = st_(S.REJECTED, True, False, credits=C.RETURNED)
REJECTED_ALT_U = st_(S.REJECTED, True, False, U, C.RETURNED)
RESCHEDULED_FROM_REJECTED = st_(S.AWAITING_APPROVAL, False, True, credits=C.RETURNED)
CANCELLED = st_(S.CANCELLED, True, False, credits=C.RETURNED)
COMPLETED = st_(S.COMPLETED, True, True, credits=C.PAID)
EXPIRED = st_(S.EXPIRED, True, False, credits=C.RETURNED)

# state, user's actions, expert's actions, awaiting response from
TABLE: list[tuple[str, State, set[A], set[A], Party | None]] = [
    ("requested", REQUESTED, {A.CANCEL}, {A.CONFIRM, A.DECLINE}, E),
    ("proposed", PROPOSED, {A.CONFIRM, A.DECLINE, A.RESCHEDULE}, {A.CANCEL}, U),
    ("countered", COUNTERED, {A.RESCHEDULE, A.CANCEL_ALTERNATIVE_DATE},
     {A.CONFIRM_ALTERNATIVE_DATE, A.REJECT_ALTERNATIVE_DATE}, E),
    ("agreed", AGREED, {A.CANCEL, A.RESCHEDULE}, {A.CANCEL, A.RESCHEDULE}, None),
    ("agreed, expert's alternative", AGREED_ALT_E,
     {A.CANCEL, A.CONFIRM_ALTERNATIVE_DATE, A.REJECT_ALTERNATIVE_DATE},
     {A.CANCEL, A.RESCHEDULE, A.CANCEL_ALTERNATIVE_DATE}, U),
    ("agreed, user's alternative", AGREED_ALT_U,
     {A.CANCEL, A.RESCHEDULE, A.CANCEL_ALTERNATIVE_DATE},
     {A.CANCEL, A.CONFIRM_ALTERNATIVE_DATE, A.REJECT_ALTERNATIVE_DATE}, E),
    ("rejected", REJECTED, {A.RESCHEDULE}, {A.RESCHEDULE}, None),
    ("rejected, user's alternative", REJECTED_ALT_U, {A.RESCHEDULE, A.CANCEL_ALTERNATIVE_DATE},
     {A.CONFIRM_ALTERNATIVE_DATE, A.REJECT_ALTERNATIVE_DATE}, E),
    ("rescheduled from rejected", RESCHEDULED_FROM_REJECTED,
     {A.CONFIRM, A.DECLINE, A.RESCHEDULE}, {A.CANCEL}, U),
    ("cancelled", CANCELLED, set(), set(), None),
    ("completed", COMPLETED, set(), set(), None),
    ("expired", EXPIRED, set(), set(), None),
]


@pytest.mark.parametrize(("state", "user", "expert", "awaiting"),
                         [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_available_actions_and_awaiting(state: State, user: set[A], expert: set[A],
                                        awaiting: Party | None) -> None:
    assert set(lifecycle.available_actions(U, state)) == user
    assert set(lifecycle.available_actions(E, state)) == expert
    assert lifecycle.awaiting_response_from(state) is awaiting
    for party, allowed in ((U, user), (E, expert)):
        for action in A:
            if action in allowed:
                assert lifecycle.decide(action, party, state).action is action
            else:
                with pytest.raises(DomainError):
                    lifecycle.decide(action, party, state)


@pytest.mark.parametrize(("action", "party", "state", "code"), [
    (A.CONFIRM, E, REQUESTED, "A2"),
    (A.CONFIRM, U, PROPOSED, "A2′"),
    (A.DECLINE, E, REQUESTED, "A3"),
    (A.DECLINE, U, PROPOSED, "A3′"),
    (A.CANCEL, E, PROPOSED, "A5"),
    (A.CANCEL, U, REQUESTED, "A5′"),
    (A.CANCEL, E, AGREED, "A6"),
    (A.CANCEL, U, AGREED, "A6′"),
    (A.RESCHEDULE, E, REJECTED, "A7"),
    (A.RESCHEDULE, E, AGREED, "A7"),
    (A.RESCHEDULE, U, AGREED, "A7′"),
    (A.RESCHEDULE, U, PROPOSED, "A7′"),
    (A.RESCHEDULE, U, REJECTED, "A7′"),
    (A.RESCHEDULE, U, COUNTERED, "A7′"),  # replaces its own alternative
    (A.CONFIRM_ALTERNATIVE_DATE, E, AGREED_ALT_U, "A8"),
    (A.CONFIRM_ALTERNATIVE_DATE, E, COUNTERED, "A8"),
    (A.CONFIRM_ALTERNATIVE_DATE, U, AGREED_ALT_E, "A8′"),
    (A.REJECT_ALTERNATIVE_DATE, E, AGREED_ALT_U, "A9"),
    (A.REJECT_ALTERNATIVE_DATE, U, AGREED_ALT_E, "A9′"),
    (A.CANCEL_ALTERNATIVE_DATE, E, AGREED_ALT_E, "A10"),
    (A.CANCEL_ALTERNATIVE_DATE, U, AGREED_ALT_U, "A10′"),
])
def test_decide_picks_the_row(action: A, party: Party, state: State, code: str) -> None:
    assert lifecycle.decide(action, party, state).code == code


def test_other_partys_alternative_blocks_reschedule() -> None:
    with pytest.raises(DomainError) as err:
        lifecycle.decide(A.RESCHEDULE, U, AGREED_ALT_E)
    assert err.value.code is ErrorCode.ALTERNATIVE_PENDING
    with pytest.raises(DomainError) as err:
        lifecycle.decide(A.RESCHEDULE, E, AGREED_ALT_U)
    assert err.value.code is ErrorCode.ALTERNATIVE_PENDING
    with pytest.raises(DomainError) as err:
        lifecycle.decide(A.CONFIRM, E, AGREED)
    assert err.value.code is ErrorCode.INVALID_STATE


def _apply(rule: lifecycle.Rule, state: State, party: Party | None, *, late: bool = False,
           policy: str = "charge") -> State:
    move = lifecycle.credit_move(rule, late=late, late_policy=policy)
    return lifecycle.next_state(rule, state, move, party)


@pytest.mark.parametrize(("action", "party", "before", "after"), [
    (A.CONFIRM, E, REQUESTED, AGREED),
    (A.CONFIRM, U, PROPOSED, st_(S.AGREED, True, True, credits=C.BLOCKED)),
    (A.DECLINE, E, REQUESTED, st_(S.REJECTED, True, False, credits=C.RETURNED)),
    (A.DECLINE, U, PROPOSED, st_(S.REJECTED, False, True)),  # nothing blocked: stays NONE
    (A.CANCEL, E, PROPOSED, st_(S.CANCELLED, False, True)),
    (A.CANCEL, U, REQUESTED, st_(S.CANCELLED, True, False, credits=C.RETURNED)),
    (A.CANCEL, E, AGREED_ALT_E, st_(S.CANCELLED, True, True, credits=C.RETURNED)),
    (A.RESCHEDULE, E, REJECTED, RESCHEDULED_FROM_REJECTED),
    (A.RESCHEDULE, E, AGREED, AGREED_ALT_E),
    (A.RESCHEDULE, U, AGREED, AGREED_ALT_U),
    (A.RESCHEDULE, U, PROPOSED, COUNTERED),
    (A.CONFIRM_ALTERNATIVE_DATE, E, COUNTERED, st_(S.AGREED, True, True, credits=C.BLOCKED)),
    (A.CONFIRM_ALTERNATIVE_DATE, E, AGREED_ALT_U, AGREED),
    (A.CONFIRM_ALTERNATIVE_DATE, E, REJECTED_ALT_U, st_(S.AGREED, True, True, None, C.BLOCKED)),
    (A.CONFIRM_ALTERNATIVE_DATE, U, AGREED_ALT_E, AGREED),
    (A.REJECT_ALTERNATIVE_DATE, E, AGREED_ALT_U, st_(S.REJECTED, True, True, credits=C.RETURNED)),
    (A.REJECT_ALTERNATIVE_DATE, E, COUNTERED, st_(S.REJECTED, False, True)),
    (A.REJECT_ALTERNATIVE_DATE, U, AGREED_ALT_E, AGREED),
    (A.CANCEL_ALTERNATIVE_DATE, E, AGREED_ALT_E, AGREED),
    (A.CANCEL_ALTERNATIVE_DATE, U, COUNTERED, PROPOSED),
])
def test_next_state(action: A, party: Party, before: State, after: State) -> None:
    assert _apply(lifecycle.decide(action, party, before), before, party) == after


def test_creation_and_system_rules() -> None:
    request = lifecycle.creation_rule(Creation.REQUEST)
    assert request.code == "A1" and request.party is U and request.date_in_availability
    assert _apply(request, NEUTRAL, U) == REQUESTED
    assert [e.kind for e in request.events] == [K.REQUESTED_BY_USER]
    assert request.notify is N.MEETING_REQUESTED
    propose = lifecycle.creation_rule(Creation.PROPOSE)
    assert propose.code == "A4" and propose.party is E and not propose.date_in_availability
    assert _apply(propose, NEUTRAL, E) == PROPOSED
    assert [(e.kind, e.label) for e in propose.events] == [(K.APPROVED_BY_EXPERT,
                                                            "Expert approval")]
    complete = lifecycle.system_rule(SystemAction.COMPLETE)
    assert complete.when(AGREED) and not complete.when(REQUESTED)
    assert _apply(complete, AGREED_ALT_U, None) == COMPLETED
    expire = lifecycle.system_rule(SystemAction.EXPIRE)
    assert expire.when(REQUESTED) and expire.when(COUNTERED) and not expire.when(AGREED)
    assert _apply(expire, REQUESTED, None) == EXPIRED
    assert _apply(expire, COUNTERED, None) == st_(S.EXPIRED, False, True)


def test_s3_to_s6_are_rows_of_the_table() -> None:
    """SPEC §4: what the system records, written out here, not read from the table."""
    from dataclasses import replace

    from models.enums import ConferenceStatus as CS

    def row(action: SystemAction) -> lifecycle.Rule:
        return lifecycle.system_rule(action)

    def told(action: SystemAction) -> tuple[Party, ...]:
        return lifecycle.recipients(row(action), None)

    pending = replace(AGREED, conference=CS.PENDING)
    created = replace(AGREED, conference=CS.CREATED)
    cancelled = replace(CANCELLED, conference=CS.CANCELLED)
    failed = replace(AGREED, conference=CS.FAILED)
    expected = {
        SystemAction.SEND_REMINDER: ("S3", [K.REMINDER_SENT], N.MEETING_REMINDER, (U,)),
        SystemAction.SEND_LINK: ("S4", [K.LINK_SENT], N.MEETING_LINK, (E,)),
        SystemAction.CREATE_CONFERENCE: ("S5", [K.CONFERENCE_CREATED], None, ()),
        SystemAction.MOVE_CONFERENCE: ("S5", [], None, ()),
        SystemAction.FAIL_CONFERENCE: ("S5", [K.CONFERENCE_FAILED], N.CONFERENCE_FAILED, (U, E)),
        SystemAction.DELETE_CONFERENCE: ("S6", [K.CONFERENCE_CANCELLED], None, ()),
        SystemAction.EXPIRE: ("S2", [K.EXPIRED], N.MEETING_EXPIRED, (U, E)),
        SystemAction.COMPLETE: ("S1", [K.COMPLETED], None, ()),
    }
    assert set(expected) == set(SystemAction)
    for action, (code, events, note, recipients) in expected.items():
        rule = row(action)
        assert (rule.code, [e.kind for e in rule.events], rule.notify, told(action)) == (
            code, events, note, recipients), action
        assert rule.party is None and rule.credits in (None, CreditMove.CAPTURE,
                                                       CreditMove.RETURN)
    for action in (SystemAction.SEND_REMINDER, SystemAction.SEND_LINK):
        assert row(action).when(AGREED) and not row(action).when(REQUESTED)
        assert not row(action).when(CANCELLED)
        assert _apply(row(action), AGREED, None) == AGREED  # records, changes no state
    for action in (SystemAction.CREATE_CONFERENCE, SystemAction.MOVE_CONFERENCE):
        assert row(action).when(pending) and row(action).when(created)
        assert not row(action).when(failed) and not row(action).when(cancelled)
        assert row(action).conference_status is CS.CREATED
    fail = row(SystemAction.FAIL_CONFERENCE)
    assert fail.when(pending) and fail.when(created) and not fail.when(failed)
    assert not fail.when(cancelled) and fail.conference_status is CS.FAILED
    delete = row(SystemAction.DELETE_CONFERENCE)
    assert delete.when(cancelled) and not delete.when(created)


def test_late_user_cancellation_policy() -> None:
    rule = lifecycle.decide(A.CANCEL, U, AGREED)
    assert rule.late_acknowledgement and rule.reason_required
    assert _apply(rule, AGREED, U, late=True, policy="charge").credit_status is C.PAID
    assert _apply(rule, AGREED, U, late=True, policy="refund").credit_status is C.RETURNED
    assert _apply(rule, AGREED, U, late=False, policy="charge").credit_status is C.RETURNED
    expert = lifecycle.decide(A.CANCEL, E, AGREED)
    assert lifecycle.credit_move(expert, late=True, late_policy="charge") is CreditMove.RETURN


def test_events_labels_and_effects() -> None:
    confirm = lifecycle.decide(A.CONFIRM, E, REQUESTED)
    assert [(e.kind, e.label) for e in confirm.events] == [(K.APPROVED_BY_EXPERT,
                                                            "Expert Approval")]
    assert confirm.warn_conflicts and confirm.conference is lifecycle.ConferenceJob.CREATE_OR_MOVE
    reject_alt = lifecycle.decide(A.REJECT_ALTERNATIVE_DATE, E, AGREED_ALT_U)
    assert [e.kind for e in reject_alt.events] == [K.ALTERNATIVE_DATE_REJECTED_BY_EXPERT]
    assert reject_alt.alternative is Alternative.DROP
    resched = lifecycle.decide(A.RESCHEDULE, E, AGREED)
    assert [e.kind for e in resched.events] == [K.ALTERNATIVE_DATE_SELECTED_BY_EXPERT,
                                                K.APPROVED_BY_EXPERT]
    assert resched.notify is N.RESCHEDULED_AGREED_BY_EXPERT
    assert lifecycle.decide(A.RESCHEDULE, E, REJECTED).notify is N.RESCHEDULED_REJECTED_BY_EXPERT
    cancel = lifecycle.decide(A.CANCEL, E, AGREED_ALT_E)
    assert [e.kind for e in cancel.events] == [K.CANCELLED_BY_EXPERT]
    assert lifecycle.decide(A.CANCEL_ALTERNATIVE_DATE, E, AGREED_ALT_E).notify is None


def test_is_late() -> None:
    start = datetime(2030, 1, 10, 12, tzinfo=UTC)
    assert not lifecycle.is_late(start, start - timedelta(hours=48), 48)
    assert lifecycle.is_late(start, start - timedelta(hours=48) + timedelta(seconds=1), 48)
    assert not lifecycle.is_late(start, start - timedelta(days=5), 48)
    assert lifecycle.is_late(start, start - timedelta(hours=23), 24)
    assert not lifecycle.is_late(start, start - timedelta(hours=25), 24)


# --- property: every reachable state keeps the pure credit invariant ------------------------

def credit_invariant(s: State) -> bool:
    blocked = s.credit_status is C.BLOCKED
    return blocked == (s.status is S.AGREED
                       or (s.status is S.AWAITING_APPROVAL and s.approved_by_user))


def actions_match_decide(s: State) -> bool:
    for party in (U, E):
        allowed = set()
        for action in A:
            try:
                lifecycle.decide(action, party, s)
            except DomainError:
                continue
            allowed.add(action)
        if set(lifecycle.available_actions(party, s)) != allowed:
            return False
    return True


step = st.tuples(
    st.sampled_from([*A, SystemAction.COMPLETE, SystemAction.EXPIRE]),
    st.sampled_from([U, E]),
    st.booleans(),  # late
    st.sampled_from(["charge", "refund"]),
)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(list(Creation)), st.lists(step, max_size=30))
def test_reachable_states_keep_the_invariant(creation: Creation, steps: list) -> None:
    rule = lifecycle.creation_rule(creation)
    state = _apply(rule, NEUTRAL, rule.party)
    assert credit_invariant(state) and actions_match_decide(state)
    seen = [state]
    for action, party, late, policy in steps:
        if isinstance(action, SystemAction):
            rule = lifecycle.system_rule(action)
            if not rule.when(state):
                continue
            actor = None
        else:
            try:
                rule = lifecycle.decide(action, party, state)
            except DomainError:
                assert action not in lifecycle.available_actions(party, state)
                continue
            assert action in lifecycle.available_actions(party, state)
            actor = party
        state = _apply(rule, state, actor, late=late, policy=policy)
        seen.append(state)
        assert credit_invariant(state), (seen, rule.code)
        assert actions_match_decide(state), state
        # Awaiting a response only while something is open, and never from the proposer.
        waiting = lifecycle.awaiting_response_from(state)
        if state.alt_proposed_by is not None:
            assert waiting is state.alt_proposed_by.other
        if state.status not in (S.AWAITING_APPROVAL, S.AGREED, S.REJECTED):
            assert waiting is None and state.alt_proposed_by is None
            assert lifecycle.available_actions(U, state) == []
            assert lifecycle.available_actions(E, state) == []
