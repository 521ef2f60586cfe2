"""Reading a body as strict JSON (RFC 8259), noting every liberty a lenient reader would take.

Python's reader, like most, skips a byte-order mark, keeps the last of repeated keys and reads
``NaN`` and ``Infinity``; ``parse_strict`` reads the same way but remembers each of those, so the
body check (``judge.checks``) can report them. ``NOT_JSON`` stands for a body that is not JSON.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance.bounds import MAX_JSON_DEPTH, JsonRejected, json_depth, parse_number


class _NotJson:
    def __repr__(self) -> str:
        return "NOT_JSON"


NOT_JSON: Any = _NotJson()
_BOM = b"\xef\xbb\xbf"


class _NonFinite(float):
    """``NaN``, ``Infinity`` or ``-Infinity`` as Python reads them, remembering its spelling."""

    spelling: str


class _DuplicatedKeys(dict[str, Any]):
    """An object in which some keys came more than once (the last value won, as in most readers)."""

    duplicated: list[str]


@dataclass
class StrictJson:
    """A body read as RFC 8259 JSON: its value, or why it is not JSON, and what a lenient reader
    accepts but the RFC does not (a leading byte-order mark, repeated keys, NaN and Infinity)."""

    value: Any = NOT_JSON
    error: ValueError | None = None
    bom: bool = False
    #: (JSON pointer of the object, key) for every key that came twice
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    #: (JSON pointer, spelling) for every NaN, Infinity and -Infinity
    non_finite: list[tuple[str, str]] = field(default_factory=list)


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(items)
    if len(obj) == len(items):
        return obj
    _READING.liberty = True
    marked = _DuplicatedKeys(obj)
    counts = Counter(key for key, _ in items)
    marked.duplicated = [key for key, count in counts.items() if count > 1]
    return marked


def _constant(name: str) -> float:
    _READING.liberty = True
    value = _NonFinite(name.replace("Infinity", "inf"))
    value.spelling = name
    return value


#: One decoder for every body (``json.loads`` with hooks builds a new one per call, which costs
#: more than the parsing); whether the body being read took a liberty is per thread.
_STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant, parse_float=parse_number)
_READING = threading.local()


def parse_strict(body: bytes) -> StrictJson:
    """Read ``body`` as UTF-8 JSON, noting every liberty a lenient reader would take with it.

    Python's reader, like most, skips a UTF-8 byte-order mark (and guesses UTF-16 or UTF-32),
    keeps the last of repeated keys and reads ``NaN``/``Infinity``: each of those is a finding
    here, because another client's reader rejects the body or reads another value.
    """
    result = StrictJson(bom=body.startswith(_BOM))
    raw = body[len(_BOM) :] if result.bom else body
    too_deep = JsonRejected(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if json_depth(raw) > MAX_JSON_DEPTH:
        result.error = too_deep
        return result
    _READING.liberty = False
    try:
        result.value = _STRICT.decode(raw.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError is one too
        result.error = error
        return result
    except RecursionError:  # a stack already deep when called; never a crash
        result.error = too_deep
        return result
    if _READING.liberty:
        _liberties(result.value, "", result)
    return result


def _liberties(node: Any, pointer: str, found: StrictJson) -> None:
    if isinstance(node, _DuplicatedKeys):
        found.duplicates += [(pointer, key) for key in node.duplicated]
    if isinstance(node, _NonFinite):
        found.non_finite.append((pointer, node.spelling))
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        _liberties(child, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}", found)


def json_problem(body: bytes, error: ValueError) -> str:
    """Why a body is not JSON, in words that stay the same from call to call (so findings merge)."""
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8"
    if isinstance(error, JsonRejected):  # nested too deep, NaN: the bound's own words
        return error.problem
    cut_short = isinstance(error, json.JSONDecodeError) and (
        error.msg.startswith("Unterminated string") or error.pos >= len(error.doc.rstrip())
    )
    if cut_short and body.strip():
        return "truncated JSON"
    return "not JSON"
