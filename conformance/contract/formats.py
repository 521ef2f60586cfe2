"""The formats the bundled specs use, each checked by one function with the library jsonschema
uses for it, and given to both validators: the Rust validator accepts a body alone, so the two
must judge a format alike. A schema with any other format is judged by jsonschema alone
(``SchemaDocument._compile_rust``). Reading these needs no jsonschema (a tenth of a second)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import rfc3987
from rfc3339_validator import validate_rfc3339


def _date_time(value: str) -> bool:
    return bool(validate_rfc3339(value.upper()))


def _uri(value: str) -> bool:
    try:
        rfc3987.parse(value, rule="URI")
    except ValueError:
        return False
    return True


def _uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return all(value[position] == "-" for position in (8, 13, 18, 23))


#: Format name -> whether a string is of it (JSON Schema formats apply to strings only).
FORMATS: dict[str, Callable[[str], bool]] = {"date-time": _date_time, "uri": _uri, "uuid": _uuid}
