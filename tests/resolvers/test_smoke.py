"""The request → confirm path through the real ASGI app, as a client would."""

import httpx

from core.clock import FrozenClock
from tests.support.client import at, kinds, market
from tests.support.clock import T0


async def test_request_then_confirm(client: httpx.AsyncClient, frozen: FrozenClock) -> None:
    m = await market(client)
    requested = await m.request(at(T0, days=3))
    assert requested["errors"] == []
    meeting = requested["meeting"]
    assert meeting["status"] == "AWAITING_APPROVAL"
    assert meeting["creditPaymentStatus"] == "BLOCKED"
    assert await m.user.credits() == {"available": 450, "blocked": 50}
    confirmed = await m.expert.mutate("confirmMeeting", {"meetingId": meeting["id"]},
                                      "MeetingRefInput")
    assert confirmed["errors"] == []
    assert confirmed["meeting"]["status"] == "AGREED"
    assert kinds(confirmed["meeting"]) == ["REQUESTED_BY_USER", "APPROVED_BY_EXPERT"]
    assert confirmed["meeting"]["timeline"][1]["label"] == "Expert Approval"
