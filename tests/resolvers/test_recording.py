"""One way a meeting change is recorded (resolvers/effects.record_change): only the columns
an action changed are written, and every timestamp comes from the one clock."""

import logging
import re

import httpx
import pytest

from core.clock import FrozenClock
from tests.support.client import at, market
from tests.support.clock import T0

START = at(T0, days=3)
TIMES = "createdAt updatedAt timeline { at } alternative { proposedAt }"


def _meeting_updates(caplog: pytest.LogCaptureFixture) -> list[set[str]]:
    """The columns of each UPDATE of the meeting table that Tortoise logged (a statement of
    its own, or a part of one: resolvers/one_statement.py on PostgreSQL)."""
    found = []
    for record in caplog.records:
        for assignments in re.findall(r'UPDATE "meeting" SET (.*?) WHERE', record.getMessage()):
            found.append(set(re.findall(r'"(\w+)"=', assignments)))
    return found


async def test_an_action_writes_only_the_columns_it_changed(
        client: httpx.AsyncClient, frozen: FrozenClock,
        caplog: pytest.LogCaptureFixture) -> None:
    m = await market(client)
    meeting = (await m.request(START))["meeting"]
    frozen.set(at(T0, hours=1))
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        confirmed = await m.expert.mutate("confirmMeeting", {"meetingId": meeting["id"]},
                                          "MeetingRefInput")
    assert confirmed["errors"] == [] and confirmed["meeting"]["status"] == "AGREED"
    # A2: agreed, both approved, the conference pending with its provider; credits were
    # already blocked by A1. Nothing else (price, parties, dates) is rewritten.
    assert _meeting_updates(caplog) == [{
        "status", "approved_by_expert", "conference_status", "conference_provider", "version",
        "updated_at"}]


async def test_every_written_timestamp_comes_from_the_clock(client: httpx.AsyncClient,
                                                            frozen: FrozenClock) -> None:
    m = await market(client)
    requested = (await m.request(START))["meeting"]
    query = f'{{ meeting(id: "{requested["id"]}") {{ {TIMES} }} }}'
    first = (await m.user.q(query))["meeting"]
    assert first["createdAt"] == first["updatedAt"] == first["timeline"][0]["at"] \
        == "2030-01-07T08:00:00Z"

    frozen.set(at(T0, hours=1))
    confirmed = await m.expert.mutate("confirmMeeting", {"meetingId": requested["id"]},
                                      "MeetingRefInput")
    assert confirmed["errors"] == []
    frozen.set(at(T0, hours=2))
    counter = await m.expert.mutate(
        "rescheduleMeeting", {"meetingId": requested["id"],
                              "startsAt": at(START, hours=2).isoformat()},
        "RescheduleMeetingInput")
    assert counter["errors"] == []
    later = (await m.user.q(query))["meeting"]
    assert later["createdAt"] == "2030-01-07T08:00:00Z"
    assert later["updatedAt"] == later["timeline"][-1]["at"] \
        == later["alternative"]["proposedAt"] == "2030-01-07T10:00:00Z"
