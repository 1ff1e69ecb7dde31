"""Property-based tests of what clients type in: the DateTime scalar, global ids, pagination
cursors and weekly-rule times. Any input is either read or refused with a readable error;
nothing else may escape (an unexpected exception is masked as "Unexpected server error", a
bug). The last tests send such inputs through the HTTP API."""

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.auth import make_token
from core.errors import PublicError
from core.settings import get_settings
from models.freetime import MINUTES_PER_DAY, format_hhmm, parse_hhmm
from resolvers.pagination import cursor_id, cursor_instant, decode_cursor, encode_cursor
from schema.errors import InvalidValue
from schema.scalars import (
    EARLIEST,
    LATEST,
    MAX_PK,
    _parse_datetime,
    _serialize_datetime,
    from_global_id,
    parse_global_id,
    to_global_id,
)
from tests.support.client import market

LEAKS = ("Traceback", 'File "', "SELECT ", "INSERT ", "asyncpg", "sqlite3", "tortoise",
         "Unexpected server error")

# --- strategies ---------------------------------------------------------------------------------

surrogates = st.integers(0xD800, 0xDFFF).map(chr)  # JSON may carry lone surrogates
any_text = st.text(st.one_of(st.characters(), surrogates), max_size=60)
aware = st.datetimes(min_value=EARLIEST.replace(tzinfo=None) + timedelta(days=1),
                     max_value=LATEST.replace(tzinfo=None) - timedelta(days=1),
                     timezones=st.timezones())
timespecs = st.sampled_from(["auto", "minutes", "seconds", "milliseconds", "microseconds"])
iso_aware = st.builds(lambda d, sep, spec: d.isoformat(sep, spec),
                      st.datetimes(timezones=st.timezones()), st.sampled_from("T "), timespecs)
iso_naive = st.builds(lambda d, sep, spec: d.isoformat(sep, spec),
                      st.datetimes(), st.sampled_from("T "), timespecs)


@st.composite
def near_iso(draw: st.DrawFn) -> str:
    """An ISO-8601 string with a few characters replaced, dropped or added."""
    text = list(draw(st.one_of(iso_aware, iso_naive)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from("0123456789:+-TZz. W\u0660\x00"))
        match draw(st.sampled_from(["replace", "drop", "insert"])):
            case "replace" if at < len(text):
                text[at] = char
            case "drop" if at < len(text):
                del text[at]
            case _:
                text.insert(at, char)
    return "".join(text)


datetime_text = st.one_of(iso_aware, iso_naive, near_iso(), any_text)


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text | iso_aware,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=8)
cursor_text = st.one_of(
    any_text,
    st.binary(max_size=60).map(b64),
    json_values.map(lambda v: b64(json.dumps(v).encode(errors="surrogatepass"))),
    st.lists(json_values, min_size=1, max_size=3).map(lambda v: encode_cursor(*v)),
    st.integers(1, 50_000).map(lambda depth: b64(b"[" * depth)),
)
type_names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters=":"),
                     min_size=1, max_size=30)
positive_ids = st.integers(min_value=1, max_value=MAX_PK)
id_text = st.one_of(
    any_text,
    st.builds(lambda name, pk: b64(f"{name}:{pk}".encode(errors="surrogatepass")),
              st.one_of(type_names, any_text), st.integers() | any_text),
    st.builds(lambda pk: str(to_global_id("Meeting", pk)),
              st.integers(-10, 2**70) | st.sampled_from([MAX_PK, MAX_PK + 1, 2**63 - 1, 2**63])),
)


def readable(message: str) -> None:
    assert message and isinstance(message, str)
    for marker in LEAKS:
        assert marker not in message, message


# --- DateTime -----------------------------------------------------------------------------------


@given(aware)
def test_an_aware_datetime_round_trips_to_the_same_instant(value: datetime) -> None:
    serialized = _serialize_datetime(value)
    assert serialized.endswith("Z") or serialized.endswith("+00:00")
    parsed = _parse_datetime(serialized)
    assert parsed.utcoffset() == timedelta(0)
    assert parsed == value.astimezone(UTC)
    assert _parse_datetime(value.isoformat()) == value.astimezone(UTC)


@given(iso_aware)
def test_an_aware_datetime_of_any_year_is_read_or_refused_as_out_of_range(text: str) -> None:
    try:
        parsed = _parse_datetime(text)
    except InvalidValue as error:
        assert "out of range" in str(error)
        readable(str(error))
    else:
        assert EARLIEST <= parsed < LATEST
        assert parsed == datetime.fromisoformat(text)


@given(iso_naive)
def test_a_naive_datetime_is_refused_with_a_readable_error(text: str) -> None:
    with pytest.raises(InvalidValue, match="no UTC offset") as refused:
        _parse_datetime(text)
    readable(str(refused.value))


@given(st.one_of(datetime_text, st.none(), st.integers(), st.floats(), st.booleans(),
                 st.lists(st.integers(), max_size=3), st.dictionaries(any_text, st.integers())))
def test_any_value_is_a_datetime_or_a_readable_error(value: Any) -> None:
    try:
        parsed = _parse_datetime(value)
    except InvalidValue as error:
        readable(str(error))
    else:
        assert isinstance(parsed, datetime) and parsed.tzinfo is UTC
        assert EARLIEST <= parsed < LATEST


# --- global ids ---------------------------------------------------------------------------------


@given(type_names, positive_ids)
def test_a_global_id_round_trips(type_name: str, pk: int) -> None:
    global_id = to_global_id(type_name, pk)
    assert parse_global_id(global_id) == (type_name, pk)
    assert from_global_id(global_id, type_name) == pk
    assert from_global_id(global_id, type_name + "X") is None


@given(id_text, type_names)
def test_any_string_decodes_to_none_or_a_valid_pair(text: str, type_name: str) -> None:
    parsed = parse_global_id(text)
    if parsed is not None:
        name, pk = parsed
        assert isinstance(name, str) and type(pk) is int and 0 < pk <= MAX_PK
    pk_of_type = from_global_id(text, type_name)
    assert pk_of_type is None or (parsed is not None and pk_of_type == parsed[1])


# --- pagination cursors -------------------------------------------------------------------------


@given(cursor_text, st.integers(1, 3))
def test_any_cursor_is_a_list_or_a_readable_error(text: str, arity: int) -> None:
    try:
        values = decode_cursor(text, arity)
    except PublicError as error:
        assert error.extensions == {"code": "INVALID_INPUT"}
        readable(error.message)
    else:
        assert isinstance(values, list) and len(values) == arity


@given(json_values)
def test_any_cursor_value_is_an_id_an_instant_or_a_readable_error(value: Any) -> None:
    for read in (cursor_id, cursor_instant):
        try:
            result = read(value)
        except PublicError as error:
            assert error.extensions == {"code": "INVALID_INPUT"}
        else:
            assert isinstance(result, int | datetime)


@given(st.datetimes(timezones=st.just(UTC)), positive_ids)
def test_a_cursor_the_api_gave_out_reads_back(at: datetime, pk: int) -> None:
    values = decode_cursor(encode_cursor(at.isoformat(), pk), 2)
    assert values is not None
    assert (cursor_instant(values[0]), cursor_id(values[1])) == (at, pk)


# --- weekly-rule times --------------------------------------------------------------------------


@given(st.integers(0, MINUTES_PER_DAY - 1), st.booleans())
def test_every_minute_of_the_day_round_trips(minutes: int, allow_24: bool) -> None:
    assert parse_hhmm(format_hhmm(minutes), allow_24=allow_24) == minutes


@given(st.one_of(any_text, st.from_regex(r"\A[0-9]{1,3}:[0-9]{1,3}\Z"),
                 st.builds("{:02d}:{:02d}".format, st.integers(0, 99), st.integers(0, 99))),
       st.booleans())
def test_any_time_text_is_minutes_or_a_readable_error(text: str, allow_24: bool) -> None:
    try:
        minutes = parse_hhmm(text, allow_24=allow_24)
    except ValueError as error:
        assert "invalid time" in str(error)
    else:
        assert 0 <= minutes < MINUTES_PER_DAY or (allow_24 and text == "24:00")


# --- through the HTTP API -----------------------------------------------------------------------


def _token() -> str:
    return make_token(get_settings(), "fuzz-parsing-user", name="Fuzz")


async def _post(client: httpx.AsyncClient, query: str, variables: dict[str, Any],
                token: str | None = None) -> dict[str, Any]:
    # json.dumps escapes lone surrogates ("\\ud800"), as a JavaScript client's JSON may carry.
    response = await client.post(
        "/graphql", content=json.dumps({"query": query, "variables": variables}),
        headers={"Authorization": f"Bearer {token or _token()}",
                 "Content-Type": "application/json"})
    assert response.status_code < 500, response.text
    for marker in LEAKS:
        assert marker not in response.text, response.text
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        readable(error["message"])
        assert (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR", error
    return body


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=id_text)
async def test_a_meeting_with_any_id_is_null(client: httpx.AsyncClient, text: str) -> None:
    body = await _post(client, "query($id: ID!) { meeting(id: $id) { id status } }",
                       {"id": text})
    if "\x00" in text:  # refused before anything runs (schema/limits.py: PostgreSQL text)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    else:
        assert body == {"data": {"meeting": None}}


@pytest.fixture
async def expert_id(client: httpx.AsyncClient) -> str:
    """An expert free all week (UTC): expanding their free time has work to do."""
    return (await market(client, credits=0)).expert.id


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(start=datetime_text, end=datetime_text, length=st.integers(-(2**31), 2**31 - 1))
async def test_free_slots_of_any_range_are_listed_or_refused_readably(
        client: httpx.AsyncClient, expert_id: str, start: str, end: str, length: int) -> None:
    body = await _post(client, """query($e: ID!, $from: DateTime!, $to: DateTime!, $l: Int!) {
        expertFreeSlots(expertId: $e, from: $from, to: $to, lengthMinutes: $l) { startsAt } }""",
                       {"e": expert_id, "from": start, "to": end, "l": length})
    if not body.get("errors"):
        assert isinstance(body["data"]["expertFreeSlots"], list)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(after=cursor_text)
async def test_any_after_cursor_pages_or_is_refused_readably(
        client: httpx.AsyncClient, after: str) -> None:
    body = await _post(client, """query($after: String) {
        meetings(after: $after) { edges { cursor } }
        notifications(after: $after) { edges { cursor } } }""", {"after": after})
    for error in body.get("errors") or []:  # a cursor "[[[[…" may exceed MAX_BODY_BYTES
        assert error["extensions"]["code"] in ("INVALID_INPUT", "PAYLOAD_TOO_LARGE"), error


async def test_a_grant_past_the_largest_balance_is_refused_readably(
        client: httpx.AsyncClient) -> None:
    m = await market(client, credits=0)
    grant = """mutation($i: GrantCreditsInput!) { grantCredits(input: $i) {
        balance { available } errors { code field } } }"""
    for reference, code in (("max-1", []), ("max-2", [{"code": "INVALID_INPUT",
                                                         "field": "amount"}])):
        body = await _post(client, grant, {"i": {"accountId": m.user.id, "amount": MAX_PK,
                                                 "reference": f"{m.user.id}-{reference}"}},
                           m.admin.token)
        assert body["data"]["grantCredits"]["errors"] == code, body
    assert await m.user.credits() == {"available": MAX_PK, "blocked": 0}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(starts_at=st.sampled_from(["2031-01-06T10:00:00Z", "8999-12-01T10:00:00Z"]),
       length=st.integers(-(2**31), 2**31 - 1) | st.sampled_from([2**31 - 1, 1441, 1440]),
       price=st.integers(-(2**31), 2**31 - 1) | st.just(2**31 - 1))
async def test_a_proposal_of_any_length_and_price_is_made_or_refused_readably(
        client: httpx.AsyncClient, starts_at: str, length: int, price: int) -> None:
    m = await market(client, credits=0)
    body = await _post(client, """mutation($i: ProposeMeetingInput!) { proposeMeeting(input: $i) {
        meeting { endsAt lengthMinutes priceCredits } errors { code field } } }""",
                       {"i": {"userId": m.user.id, "serviceId": m.service_id,
                              "skillId": m.skill_id, "startsAt": starts_at,
                              "lengthMinutes": length, "priceCredits": price}}, m.expert.token)
    assert not body.get("errors"), body
