"""The Dramatiq actors, declared once at import.

They are declared on a placeholder broker; `workers.broker.get_broker` binds them to the
process's real broker (tests bind them to a `StubBroker`). Dramatiq's own retries are off
(`max_retries=0`): the one retry layer is the job's outbox row, which stays owed until the
job's effect is recorded and is handed on again when due (`workers.conferencing.relay`) —
that also survives a Redis that lost its queues, which Dramatiq's retries would not.
"""

import logging
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker

from models.enums import OutboxKind

log = logging.getLogger(__name__)

QUEUE = "meetings"
_unbound = StubBroker()


@dramatiq.actor(broker=_unbound, actor_name="conference_job", queue_name=QUEUE, max_retries=0)
async def conference_job(entry_id: int) -> None:
    """Runs the conference job that outbox row `entry_id` owes."""
    from workers.conferencing.jobs import run_entry

    outcome = await run_entry(entry_id)
    # Logged, not returned: there is no result backend to keep a return value.
    log.info("conference job of outbox row %s: %s", entry_id, outcome)


ACTORS: tuple[dramatiq.Actor[Any, Any], ...] = (conference_job,)
BY_KIND: dict[OutboxKind, dramatiq.Actor[Any, Any]] = {OutboxKind.CONFERENCE: conference_job}


def bind(broker: dramatiq.Broker) -> None:
    """Declares every actor on `broker` and makes it the one they send to."""
    for actor in ACTORS:
        actor.broker = broker
        broker.declare_actor(actor)


def unbind() -> None:
    bind(_unbound)
