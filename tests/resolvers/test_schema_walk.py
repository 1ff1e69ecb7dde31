"""Walks the schema: every query and mutation field, called with only its required
arguments (values from a small fixture: a market with a requested meeting and a
conversation), by the user, the expert, the admin and nobody, answers without a masked
("Unexpected server error") error. Omitted optional arguments are the case the audit found
crashing (`markNotificationsRead` without `ids`)."""

import uuid
from datetime import timedelta
from typing import Any

import httpx
from graphql import (
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    get_named_type,
    get_nullable_type,
    is_enum_type,
    is_input_object_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.pyutils import Undefined

from app.schema import schema
from tests.support.client import Market, market
from tests.support.clock import T0

DEPTH = 2  # object fields selected this deep below the root field


def _required(arguments: dict[str, Any]) -> dict[str, Any]:
    return {name: arg for name, arg in arguments.items()
            if is_non_null_type(arg.type) and arg.default_value is Undefined}


class Fixture:
    """Values for required arguments, by name, from the market the test built."""

    def __init__(self, m: Market, meeting_id: str, conversation_id: str) -> None:
        start = T0 + timedelta(days=3, hours=2)
        self.m = m
        self.by_name: dict[str, Any] = {
            "meetingId": meeting_id, "serviceId": m.service_id, "skillId": m.skill_id,
            "expertId": m.expert.id, "accountId": m.user.id, "withAccountId": m.expert.id,
            "userId": m.user.id, "conversationId": conversation_id,
            "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=1)).isoformat(),
            "from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat(),
            "lengthMinutes": 60, "priceCredits": 50, "amount": 10, "weekday": "MONDAY",
            "startTime": "09:00", "endTime": "17:00", "timezone": "UTC", "title": "Advice",
            "name": "Work", "body": "hello", "skillNames": ["Advice"], "ids": [],
            "reasonCode": "OTHER", "url": "http://127.0.0.1:9/busy.ics",
        }
        self.ids_by_field = {"node": meeting_id, "meeting": meeting_id, "account": m.user.id,
                             "conversation": conversation_id,
                             "updateExpertService": m.service_id}

    def value(self, field: str, name: str, type_: GraphQLInputType) -> Any:
        if name == "id":
            return self.ids_by_field.get(field, meeting_or(self.by_name))
        if name == "reference":
            return uuid.uuid4().hex
        if name in self.by_name:
            return self.by_name[name]
        nullable = get_nullable_type(type_)
        if is_list_type(nullable):
            return [self.value(field, name, nullable.of_type)]
        if is_input_object_type(nullable):
            return self.input_object(field, nullable)
        if is_enum_type(nullable):
            return next(iter(nullable.values))
        named = get_named_type(type_).name
        return {"Int": 1, "Boolean": True, "String": "text", "Float": 1.0}.get(named, "text")

    def input_object(self, field: str, type_: GraphQLInputObjectType) -> dict[str, Any]:
        return {name: self.value(field, name, f.type)
                for name, f in type_.fields.items()
                if is_non_null_type(f.type) and f.default_value is Undefined}


def meeting_or(values: dict[str, Any]) -> Any:
    return values["meetingId"]


def selection(type_: GraphQLOutputType, depth: int) -> str:
    named: GraphQLNamedType = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    parts = ["__typename"]
    if is_object_type(named):
        assert isinstance(named, GraphQLObjectType)
        for name, f in named.fields.items():
            if _required(f.args):
                continue
            inner = get_named_type(f.type)
            if is_leaf_type(inner):
                parts.append(name)
            elif depth > 0:
                parts.append(f"{name} {selection(f.type, depth - 1)}")
    return "{ " + " ".join(parts) + " }"


def operations(kind: str, root: GraphQLObjectType, fixture: Fixture
               ) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for name, f in root.fields.items():
        required = _required(f.args)
        definitions = ", ".join(f"${a}: {arg.type}" for a, arg in required.items())
        arguments = ", ".join(f"{a}: ${a}" for a in required)
        query = (f"{kind} Walk{('(' + definitions + ')') if definitions else ''} "
                 f"{{ {name}{('(' + arguments + ')') if arguments else ''} "
                 f"{selection(f.type, DEPTH)} }}")
        variables = {a: fixture.value(name, a, arg.type) for a, arg in required.items()}
        found.append((name, query, variables))
    return found


async def test_every_root_field_with_only_its_required_arguments(
        client: httpx.AsyncClient) -> None:
    m = await market(client)
    meeting = await m.request(T0 + timedelta(days=2))
    conversation = await m.user.q(
        "mutation($a: ID!) { startConversation(withAccountId: $a) { conversation { id } } }",
        {"a": m.expert.id})
    fixture = Fixture(m, meeting["meeting"]["id"],
                      conversation["startConversation"]["conversation"]["id"])
    graphql_schema = schema._schema
    assert graphql_schema.query_type and graphql_schema.mutation_type
    walked = (operations("query", graphql_schema.query_type, fixture)
              + operations("mutation", graphql_schema.mutation_type, fixture))
    assert len(walked) >= 30
    masked = []
    for name, query, variables in walked:
        for who in (m.user, m.expert, m.admin, None):
            headers = {"Authorization": f"Bearer {who.token}"} if who else {}
            response = await client.post("/graphql", json={
                "query": query, "variables": variables}, headers=headers)
            assert response.status_code == 200, (name, response.text[:300])
            body = response.json()
            for error in body.get("errors") or ():
                code = (error.get("extensions") or {}).get("code")
                if code == "INTERNAL_SERVER_ERROR" or "Unexpected" in error["message"] \
                        or code is None and "data" in body and body["data"] is None \
                        and not error.get("path"):
                    masked.append((name, who and who.id, error))
    assert masked == []
