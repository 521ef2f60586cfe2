"""Where the Rust YAML parser reads a cassette entry as vcrpy's loader (libyaml, YAML 1.1) would.

``read_cassette`` parses each entry with ``yaml_rs`` (ten times faster) only where both parsers
build the same interaction from it; the checks here say where they might not, and vcrpy's loader
reads those entries.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml_rs

#: A tag (``!!binary``, ``!!python/str``) or a merge key: the Rust parser ignores both.
_TAG = re.compile(r"(?:^|[\s\[{,])!|<<")
#: Plain scalars vcrpy's loader (YAML 1.1) reads as no string,
_NOT_TEXT_11 = (
    r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF|~|null|Null|NULL|<<|=|"
    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
    r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt \t].*)?"
)
#: and those a YAML 1.2 parser reads as no string.
_NOT_TEXT_12 = (
    r"~|null|Null|NULL|true|True|TRUE|false|False|FALSE|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
#: A line (one value) that YAML 1.1 reads as no string where YAML 1.2 reads text: written plain,
#: the two parsers read it differently.
_AMBIGUOUS = re.compile(rf"(?!(?:{_NOT_TEXT_12})$)(?:{_NOT_TEXT_11})")
#: A line that could be ambiguous, with the newline before it (so that the search skips from line to
#: line in C): one that starts as a number, a date, ``yes``, ``no``, ``on``, ``off``, ``<<`` or ``=`` do.
_MAYBE_AMBIGUOUS = re.compile(r"\n[-+.0-9yYnNoO<=][^\n]*")
#: The types of what the Rust parser reads where both parsers agree on the type.
_TEXT_TYPES = frozenset({str, bool, list, dict, type(None)})
AS_VCRPY_READS: dict[str, Any] = {
    "parse_datetime": False,
    "duplicate_key_policy": yaml_rs.DuplicateKeyPolicy.LastWins,
}

#: The Rust parser recurses per level of block nesting and overflows its stack (a segfault) near
#: 15,000, which 200 KB of ``- - -`` reach (flow collections stop at a few hundred): an entry that
#: could nest that deep is read by vcrpy's loader, whose libyaml refuses more than 1,000 levels.
_DEEP_INDENT, _MAX_COMPACT = "\n" + " " * 1000, 1000


def shallow(chunk: str) -> bool:
    """Whether an entry surely nests no deeper than the Rust parser reads (columns, ``- ``, ``? ``)."""
    if len(chunk) < len(_DEEP_INDENT):  # too short to hold either: not searched
        return True
    return _DEEP_INDENT not in chunk and chunk.count("- ") + chunk.count("? ") <= _MAX_COMPACT


def reads_alike(raw: Any, chunk: str) -> bool:
    """Whether vcrpy's loader reads what an ``Interaction`` takes from this entry as the Rust parser
    read it. They differ only on tags, merge keys and plain scalars: YAML 1.1 reads ``yes``, ``1_000``
    or a date as no string, YAML 1.2 reads ``0o17`` or ``1e3`` as a number. A status code must be
    written as vcrpy writes it (``code: 200``)."""
    if ("!" in chunk or "<<" in chunk) and _TAG.search(chunk):
        return False
    request, response = _member(raw, "request"), _member(raw, "response")
    status, body = _member(response, "status"), _member(response, "body")
    scalars = [request.get("method"), request.get("uri"), request.get("body"), body.get("string")]
    code = status.get("code")
    if type(code) is int:
        if chunk.count("code:") != 1 or f"code: {code}\n" not in chunk:
            return False
    else:
        scalars.append(code)
    for headers in (request.get("headers"), response.get("headers")):
        if isinstance(headers, dict):
            scalars += headers
            scalars += [
                values[0] if type(values) is list and values else values for values in headers.values()
            ]
    if not set(map(type, scalars)) <= _TEXT_TYPES:
        return False  # a number where text belongs: which number, or whether text, depends on the parser
    # The other values (True, None, a list) are never ambiguous.
    text = "\n" + "\n".join([scalar for scalar in scalars if type(scalar) is str])
    return not any(_ambiguous(line.group()) for line in _MAYBE_AMBIGUOUS.finditer(text))


@functools.lru_cache(maxsize=4096)
def _ambiguous(line: str) -> bool:
    """Whether a line (after its newline) is read as no string by one parser and as text by the other
    (the same few lines recur: lengths, hosts, versions)."""
    return _AMBIGUOUS.fullmatch(line, 1) is not None


def _member(node: Any, key: str) -> dict[str, Any]:
    value = node.get(key) if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}
