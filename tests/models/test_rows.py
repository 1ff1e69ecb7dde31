"""models/rows.py: read-only rows hold what the ORM's instances hold, value for value and
type for type (time zones included), on the test run's backend."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from tortoise.models import Model

from models import rows
from models.accounts import Account, ExpertService, Skill
from models.enums import (
    ConferenceStatus,
    CreditPaymentStatus,
    MeetingStatus,
    Party,
    TimelineEventKind,
)
from models.meetings import Meeting, TimelineEvent
from schema.scalars import from_global_id
from tests.support.client import at, market
from tests.support.clock import T0

READERS = [rows.account_reader, rows.skill_reader, rows.service_reader, rows.meeting_reader,
           rows.timeline_reader]


def field_names(model: type[Model]) -> set[str]:
    meta = model._meta
    return {meta.fields_db_projection_reverse[column] for column in meta.db_fields}


@pytest.mark.parametrize("reader", READERS, ids=lambda r: r.row_class.__name__)
def test_a_row_class_declares_exactly_its_models_columns(reader: rows.Reader[Any],
                                                         orm: str) -> None:
    # After Tortoise's initialisation (`orm`), which adds the foreign keys' `_id` columns.
    declared = {name for klass in reader.row_class.__mro__
                for name in getattr(klass, "__annotations__", {}) if name != "model"}
    assert declared == field_names(reader.model)


async def test_rows_equal_the_orms_instances(client: httpx.AsyncClient) -> None:
    m = await market(client)
    user_id = from_global_id(m.user.id, "Account")
    expert_id = from_global_id(m.expert.id, "Account")
    service_id = from_global_id(m.service_id, "ExpertService")
    skill_id = from_global_id(m.skill_id, "Skill")
    assert user_id and expert_id and service_id and skill_id
    starts = at(T0, hours=30)
    # Every nullable column set on one meeting and unset on the other.
    full = await Meeting.create(
        user_id=user_id, expert_id=expert_id, service_id=service_id, skill_id=skill_id,
        starts_at=starts, ends_at=starts + timedelta(minutes=60), length_minutes=60,
        price_credits=50, status=MeetingStatus.AWAITING_APPROVAL, approved_by_user=True,
        approved_by_expert=False, created_by=Party.USER, alt_starts_at=starts + timedelta(days=1),
        alt_proposed_by=Party.EXPERT, alt_proposed_at=T0 + timedelta(microseconds=250),
        credit_status=CreditPaymentStatus.NONE, rejection_note="no", cancellation_note="late",
        conference_provider="jitsi", conference_status=ConferenceStatus.CREATED,
        conference_join_url="https://meet.example/x", conference_external_id="x", version=3,
        created_at=T0, updated_at=T0 + timedelta(seconds=1))
    bare = await Meeting.create(
        user_id=user_id, expert_id=expert_id, service_id=service_id, skill_id=skill_id,
        starts_at=starts, ends_at=starts + timedelta(minutes=60), length_minutes=60,
        price_credits=50, status=MeetingStatus.CANCELLED, approved_by_user=True,
        approved_by_expert=True, created_by=Party.EXPERT,
        credit_status=CreditPaymentStatus.NONE, created_at=T0, updated_at=T0)
    await TimelineEvent.create(meeting_id=full.id, kind=TimelineEventKind.APPROVED_BY_EXPERT,
                               label="Expert Approval", at=T0, actor=Party.EXPERT,
                               starts_at=starts, note="see you")
    await TimelineEvent.create(meeting_id=bare.id, kind=TimelineEventKind.APPROVED_BY_EXPERT,
                               label="Expert Approval", at=T0)
    cases: list[tuple[rows.Reader[Any], type[Model], list[int]]] = [
        (rows.account_reader, Account, [user_id, expert_id]),
        (rows.service_reader, ExpertService, [service_id]),
        (rows.skill_reader, Skill, [skill_id]),
        (rows.meeting_reader, Meeting, [full.id, bare.id]),
    ]
    timeline_ids = [e.id for e in await TimelineEvent.filter(meeting_id__in=[full.id, bare.id])]
    cases.append((rows.timeline_reader, TimelineEvent, timeline_ids))
    for reader, model, ids in cases:
        read = {row.id: row for row in await reader.by_ids(ids)}
        instances = {i.id: i for i in await model.filter(id__in=ids)}
        assert set(read) == set(instances) == set(ids)
        for pk, instance in instances.items():
            for name in field_names(model):
                mine, theirs = getattr(read[pk], name), getattr(instance, name)
                assert (mine, type(mine)) == (theirs, type(theirs)), (model, name)
                assert getattr(mine, "tzinfo", None) == getattr(theirs, "tzinfo", None)
    full_row = (await rows.meeting_reader.by_ids([full.id]))[0]
    assert full_row.alt_ends_at() == full.alt_ends_at()
    assert full_row.party_of(user_id) is Party.USER
    assert full_row.party_of(expert_id) is Party.EXPERT
    assert full_row.party_of(-1) is None
