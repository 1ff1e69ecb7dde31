"""Helpers for tests that speak GraphQL over HTTP as a client would."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.auth import make_token
from core.settings import get_settings

MEETING_FIELDS = """
  id version status startsAt endsAt lengthMinutes priceCredits creditPaymentStatus
  approvedByUser approvedByExpert awaitingResponseFrom createdBy viewerRole availableActions
  alternative { startsAt endsAt proposedBy proposedAt }
  rejectionReason { code } cancellationReason { code }
  conference { provider status joinUrl }
  timeline { kind label actor startsAt reason { code } note }
"""
PAYLOAD = f"meeting {{ {MEETING_FIELDS} }} errors {{ code message field }} " \
          "warnings { code conflictingMeetings { id } }"


@dataclass
class Party:
    http: httpx.AsyncClient
    token: str
    id: str = ""

    async def raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"})
        return response.json()  # type: ignore[no-any-return]

    async def q(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    async def mutate(self, name: str, input: dict[str, Any], input_type: str) -> dict[str, Any]:
        data = await self.q(
            f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ {PAYLOAD} }} }}",
            {"input": input})
        return data[name]  # type: ignore[no-any-return]

    async def credits(self) -> dict[str, int]:
        return (await self.q("{ viewer { credits { available blocked } } }"))["viewer"]["credits"]


async def party(http: httpx.AsyncClient, *, admin: bool = False, name: str | None = None,
                tz: str | None = None) -> Party:
    sub = f"t-{uuid.uuid4().hex[:10]}"
    p = Party(http, make_token(get_settings(), sub, name=name or sub, admin=admin, tz=tz))
    p.id = (await p.q("{ viewer { account { id } } }"))["viewer"]["account"]["id"]
    return p


@dataclass
class Market:
    """An expert free all week (UTC), a user with credits, one 60-minute service at 50."""

    expert: Party
    user: Party
    admin: Party
    service_id: str
    skill_id: str

    async def grant(self, who: Party, amount: int) -> None:
        data = await self.admin.q(
            "mutation($i: GrantCreditsInput!) { grantCredits(input: $i) { errors { code } } }",
            {"i": {"accountId": who.id, "amount": amount, "reference": uuid.uuid4().hex}})
        assert data["grantCredits"]["errors"] == []

    async def request(self, starts_at: datetime, user: Party | None = None) -> dict[str, Any]:
        return await (user or self.user).mutate(
            "requestMeeting",
            {"serviceId": self.service_id, "skillId": self.skill_id,
             "startsAt": starts_at.isoformat()}, "RequestMeetingInput")

    async def propose(self, starts_at: datetime, price: int = 50,
                      **extra: Any) -> dict[str, Any]:
        return await self.expert.mutate(
            "proposeMeeting",
            {"userId": self.user.id, "serviceId": self.service_id, "skillId": self.skill_id,
             "startsAt": starts_at.isoformat(), "lengthMinutes": 60, "priceCredits": price,
             **extra}, "ProposeMeetingInput")


async def market(http: httpx.AsyncClient, credits: int = 500) -> Market:
    expert, user, admin = await party(http), await party(http), await party(http, admin=True)
    data = await expert.q("""mutation {
      createExpertService(input: {title: "Advice", skillNames: ["Advice"], lengthMinutes: 60,
                                  priceCredits: 50}) {
        service { id skills { id } } errors { code } }
      setWeeklyAvailability(input: {timezone: "UTC", rules: [
        {weekday: MONDAY, startTime: "00:00", endTime: "24:00"},
        {weekday: TUESDAY, startTime: "00:00", endTime: "24:00"},
        {weekday: WEDNESDAY, startTime: "00:00", endTime: "24:00"},
        {weekday: THURSDAY, startTime: "00:00", endTime: "24:00"},
        {weekday: FRIDAY, startTime: "00:00", endTime: "24:00"},
        {weekday: SATURDAY, startTime: "00:00", endTime: "24:00"},
        {weekday: SUNDAY, startTime: "00:00", endTime: "24:00"}]}) { errors { code } }
    }""")
    service = data["createExpertService"]["service"]
    m = Market(expert, user, admin, service["id"], service["skills"][0]["id"])
    if credits:
        await m.grant(user, credits)
    return m


def at(base: datetime, **delta: float) -> datetime:
    return base + timedelta(**delta)


def kinds(meeting: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in meeting["timeline"]]
