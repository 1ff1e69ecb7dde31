"""No "Did you mean" in production (fields, arguments, types, enum values in literals and
variables, input fields, fragments' types); suggestions stay in development and when
SUGGESTIONS is set."""

from typing import Any

from tests.support.security import (
    MISSPELT,
    SECRET,
    TYPE_PROBES,
    app_client,
    gql,
    settings_with,
    token,
)


async def _messages(settings: Any, bearer: str | None) -> list[str]:
    messages: list[str] = []
    async with app_client(settings) as http:
        for query, variables in MISSPELT:
            body = await gql(http, query, variables, bearer=bearer)
            assert body.get("errors"), (query, body)
            messages += [e["message"] for e in body["errors"]]
    return messages


async def test_production_suggests_nothing_with_or_without_a_token(orm: str) -> None:
    production = settings_with(environment="production", jwt_secret=SECRET)
    for bearer in (token(production), None):
        messages = await _messages(production, bearer)
        assert not [m for m in messages if "Did you mean" in m], messages
    introspective = settings_with(environment="production", jwt_secret=SECRET,
                                  introspection=True)
    messages = await _messages(introspective, None)  # anonymous: introspection only
    assert not [m for m in messages if "Did you mean" in m], messages


async def test_development_and_the_setting_keep_suggestions(orm: str) -> None:
    for settings in (settings_with(environment="development"),
                     settings_with(environment="production", jwt_secret=SECRET,
                                   suggestions=True)):
        messages = " ".join(await _messages(settings, token(settings)))
        for suggestion in ("'meetings'", "'first'", "'MeetingStatus'", "'CANCELLATION'",
                           "'accountId'", "'Query'", "'Meeting'"):
            assert suggestion in messages, (suggestion, messages)




async def test_production_messages_name_no_types(orm: str) -> None:
    production = settings_with(environment="production", jwt_secret=SECRET)
    development = settings_with(environment="development")
    for settings, hidden in ((production, True), (development, False)):
        async with app_client(settings) as http:
            for query, type_name in TYPE_PROBES:
                body = await gql(http, query, bearer=token(settings))
                messages = " ".join(e["message"] for e in body["errors"])
                assert (f"'{type_name}" not in messages) is hidden, (query, messages)
                assert ("Did you mean" not in messages) or not hidden, messages
