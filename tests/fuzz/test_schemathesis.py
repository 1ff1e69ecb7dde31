"""Schemathesis in GraphQL mode against a real server on the test database: every query and
mutation of the introspected schema is fuzzed (valid queries with random arguments, and a few
invalid ones) with the tokens of an admin who is also an expert, of a plain user, and none.
IDs are drawn from real ids of a seeded market, well-formed ids of any type and junk;
DateTimes from aware, naive and junk strings; Strings from text, zone names, times and
cursors. No answer may be a 5xx, carry a stack trace or SQL, or be the masked "Unexpected
server error" (which means an unexpected exception: a bug)."""

import contextlib
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import requests
import schemathesis.graphql
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.graphql import nodes
from schemathesis.specs.graphql.scalars import CUSTOM_SCALARS

from app.auth import make_token
from core.settings import get_settings
from resolvers.pagination import encode_cursor
from schema.scalars import to_global_id
from tests.support.live import server

pytestmark = pytest.mark.slow

SECRET = "a-fuzzing-secret-that-is-long-enough-32"
# Per operation: valid queries with random arguments, and queries the schema must refuse.
# FUZZ_EXAMPLES=200 makes a deeper run by hand; FUZZ_RANDOM=1 draws new examples each run
# (CI draws the same ones every time, so that a red build points at a change, not at luck).
POSITIVE_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
NEGATIVE_EXAMPLES = max(1, POSITIVE_EXAMPLES // 4)
BUDGET_SECONDS = float(os.environ.get("FUZZ_BUDGET_SECONDS", "120"))
DERANDOMIZE = os.environ.get("FUZZ_RANDOM") != "1"
LEAKS = ("Traceback", 'File "', "SELECT ", "INSERT ", "UPDATE ", "asyncpg", "sqlite3",
         "tortoise", "Unexpected server error", "Cannot return null for non-nullable")
TYPE_NAMES = ("Account", "Meeting", "ExpertService", "Skill", "Conversation", "Message",
              "Notification", "CreditEntry", "FreeDate", "BlockedDate", "Reason", "Nope")


@dataclass
class Tally:
    operations: int = 0
    examples: int = 0
    executed: int = 0  # answered with data and no errors
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # time in requests, per operation
    failures: list[str] = field(default_factory=list)


def _gql(base: str, token: str, query: str, variables: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    response = httpx.post(f"http://{base}/graphql", timeout=30,
                          json={"query": query, "variables": variables or {}},
                          headers={"Authorization": f"Bearer {token}"})
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


def _seed(base: str, admin: str, user: str) -> list[str]:
    """A market through the API: the admin is an expert with a service and free time, the user
    has credits and one meeting request. Returns the real ids the API handed out."""
    data = _gql(base, admin, """mutation {
      createExpertService(input: {title: "Fuzz", skillNames: ["Fuzzing"], lengthMinutes: 60,
                                  priceCredits: 10}) {
        service { id skills { id } } errors { code } }
      setWeeklyAvailability(input: {timezone: "UTC", rules: [
        {weekday: MONDAY, startTime: "08:00", endTime: "18:00"},
        {weekday: WEDNESDAY, startTime: "00:00", endTime: "24:00"}]}) { errors { code } }
      }""")
    service = data["createExpertService"]["service"]
    admin_id = _gql(base, admin, "{ viewer { account { id } } }")["viewer"]["account"]["id"]
    user_id = _gql(base, user, "{ viewer { account { id } } }")["viewer"]["account"]["id"]
    _gql(base, admin, """mutation($i: GrantCreditsInput!) { grantCredits(input: $i) {
           errors { code } } }""",
         {"i": {"accountId": user_id, "amount": 1000, "reference": uuid.uuid4().hex}})
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    monday = today + timedelta(days=7 - today.weekday())
    meeting = _gql(base, user, """mutation($i: RequestMeetingInput!) { requestMeeting(input: $i) {
           meeting { id } errors { code } } }""",
                   {"i": {"serviceId": service["id"], "skillId": service["skills"][0]["id"],
                          "startsAt": monday.isoformat()}})["requestMeeting"]["meeting"]
    conversation = _gql(base, user, """mutation($a: ID!) { startConversation(withAccountId: $a) {
           conversation { id } } }""", {"a": admin_id})["startConversation"]["conversation"]
    ids = [admin_id, user_id, service["id"], service["skills"][0]["id"]]
    ids += [x["id"] for x in (meeting, conversation) if x]
    return ids


def _id_values(real: list[str]) -> st.SearchStrategy[Any]:
    pks = st.integers(min_value=-5, max_value=2**70) | st.integers(min_value=1, max_value=99) \
        | st.sampled_from([0, 2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63])
    made_up = st.builds(lambda t, pk: str(to_global_id(t, pk)), st.sampled_from(TYPE_NAMES), pks)
    return st.one_of(st.sampled_from(real), st.sampled_from(real), made_up,
                     st.text(max_size=40)).map(nodes.String)


def _datetime_values() -> st.SearchStrategy[Any]:
    instants = st.datetimes(timezones=st.timezones())  # years 1-9999, any offset
    # hypothesis takes naive bounds and attaches the zone itself.
    near = st.datetimes(min_value=datetime(2020, 1, 1),  # noqa: DTZ001
                        max_value=datetime(2040, 1, 1),  # noqa: DTZ001
                        timezones=st.just(UTC))
    naive = st.datetimes().map(datetime.isoformat)
    return st.one_of(instants.map(datetime.isoformat), near.map(datetime.isoformat),
                     naive, st.text(max_size=40)).map(nodes.String)


def _string_values() -> st.SearchStrategy[Any]:
    """Text, and strings that get past the first checks: zones, times, cursors."""
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                               lambda inner: st.lists(inner, max_size=3), max_leaves=4)
    return st.one_of(
        st.text(max_size=40),
        st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu",
                         "00:00", "09:30", "23:59", "24:00", "24:01", "7:00", "ADVICE"]),
        st.from_regex(r"\A[0-9]{1,3}:[0-9]{1,3}\Z"),
        st.lists(json_values, min_size=1, max_size=2).map(lambda v: encode_cursor(*v)),
    ).map(nodes.String)


@contextlib.contextmanager
def _scalars(real_ids: list[str]) -> Iterator[None]:
    """Our strategies for ID, DateTime and String while the test runs (schemathesis keeps custom
    scalars in a module-level registry)."""
    saved = dict(CUSTOM_SCALARS)
    schemathesis.graphql.scalar("ID", _id_values(real_ids))
    schemathesis.graphql.scalar("DateTime", _datetime_values())
    schemathesis.graphql.scalar("String", _string_values())
    try:
        yield
    finally:
        CUSTOM_SCALARS.clear()
        CUSTOM_SCALARS.update(saved)


def _problem(response: requests.Response) -> str | None:
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    text = response.text
    for marker in LEAKS:
        if marker in text:
            return f"the response contains {marker!r}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON (HTTP {response.status_code})"
    if not isinstance(body, dict) or not ("data" in body or "errors" in body):
        return f"not a GraphQL response (HTTP {response.status_code})"
    return None


def _fuzz(operation: Any, mode: GenerationMode, examples: int, base: str,
          tokens: list[str | None], http: requests.Session, tally: Tally) -> None:
    """`examples` cases of one operation, each sent with one of `tokens`."""

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), derandomize=DERANDOMIZE)
    @given(case=operation.as_strategy(generation_mode=mode), token=st.sampled_from(tokens))
    def run(case: Any, token: str | None) -> None:
        tally.examples += 1
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        sent = time.monotonic()
        response = case.call(base_url=f"http://{base}", session=http, headers=headers,
                             timeout=30)
        tally.seconds[operation.label] += time.monotonic() - sent
        tally.statuses[response.status_code] += 1
        problem = _problem(response)
        if not problem and not response.json().get("errors"):
            tally.executed += 1
        if problem:
            tally.failures.append(f"{operation.label} ({mode}): {problem}\n{case.body}\n"
                                  f"{response.text[:2000]}")

    run()


def test_fuzzing_every_operation_finds_no_server_error(
        orm: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("ENVIRONMENT", "development")  # introspection, to load the schema
    monkeypatch.delenv("INTROSPECTION", raising=False)
    cfg = get_settings().model_copy(update={"jwt_secret": SECRET})
    admin = make_token(cfg, f"fuzz-admin-{uuid.uuid4().hex[:8]}", admin=True)
    user = make_token(cfg, f"fuzz-user-{uuid.uuid4().hex[:8]}")
    tokens: list[str | None] = [admin, admin, user, None]
    tally = Tally()
    started = time.monotonic()

    with server(orm) as base, _scalars(_seed(base, admin, user)), requests.Session() as http:
        api = schemathesis.graphql.from_url(
            f"http://{base}/graphql", headers={"Authorization": f"Bearer {admin}"}, timeout=30)
        operations = [result.ok() for result in api.get_all_operations()]
        for operation in operations:
            tally.operations += 1
            # Past the budget (a slow machine), the remaining operations get a token run each.
            over = time.monotonic() - started > BUDGET_SECONDS
            _fuzz(operation, GenerationMode.POSITIVE, 2 if over else POSITIVE_EXAMPLES, base,
                  tokens, http, tally)
            _fuzz(operation, GenerationMode.NEGATIVE, 1 if over else NEGATIVE_EXAMPLES, base,
                  tokens, http, tally)

    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {tally.operations} operations tried, {tally.examples} examples "
          f"({tally.executed} answered without errors), {len(tally.failures)} failures, "
          f"HTTP statuses {dict(tally.statuses)}, {elapsed:.0f}s "
          f"({sum(tally.seconds.values()):.0f}s in requests; slowest: "
          + ", ".join(f"{op} {sec:.1f}s" for op, sec in tally.seconds.most_common(3)) + ")")
    assert tally.operations == len(operations) >= 25
    assert not tally.failures, "\n\n".join(tally.failures[:10])
