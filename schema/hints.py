"""Validation messages without the schema's type names (nor any "Did you mean"), for
production.

graphql-core's `hide_suggestions` drops "Did you mean", but its messages still name the type
of whatever a guessed name hit: `Field 'meetings' of type 'MeetingConnection!' must have a
selection of subfields`, `Cannot query field 'x' on type 'Viewer'`, `argument 'id' of type
'ID!' is required`. Tools such as clairvoyance rebuild the schema from exactly those (one
guessed name at a time, then the named type's fields). The client wrote the names it sent,
not the types, so the messages keep the former and lose the latter; a client built against
the published schema never needs them (development keeps the full messages: SUGGESTIONS).
"""

import re

from graphql import GraphQLError

_NAME = r"'[^']*'"
# Most specific first: a later pattern would otherwise eat part of an earlier one's text.
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement) for pattern, replacement in (
        (rf" as objects of type {_NAME} can never be of type {_NAME}",
         ": its type condition can never apply here"),
        (rf" since type {_NAME} has no subfields", ": it has no subfields"),
        (rf"they return conflicting types {_NAME} and {_NAME}",
         "they return conflicting types"),
        (rf"Expected value of type {_NAME}, found", "Unexpected value"),
        (rf"Expected type {_NAME}", "Unexpected value"),
        (rf"expecting type {_NAME}", "expecting another type"),
        # hide_suggestions leaves the syntax hint of a missing selection ("Did you mean
        # 'meetings { ... }'?"); no message says "Did you mean" in production.
        (r" Did you mean [^?]*\?", ""),
        (rf" in {_NAME} enum", ""),
        (rf"Enum {_NAME} cannot represent", "The enum cannot represent"),
        (rf" on type {_NAME}", ""),
        (rf" of type {_NAME}", ""),
        (r"field '[_A-Za-z][_0-9A-Za-z]*\.([_A-Za-z][_0-9A-Za-z]*)'", r"field '\1'"),
    ))


def without_type_names(errors: list[GraphQLError]) -> list[GraphQLError]:
    return [_redacted(error) for error in errors]


def _redacted(error: GraphQLError) -> GraphQLError:
    message = error.message
    for pattern, replacement in _REDACTIONS:
        message = pattern.sub(replacement, message)
    if message == error.message:
        return error
    return GraphQLError(message, error.nodes, error.source, error.positions, error.path,
                        error.original_error, error.extensions)
