"""What kind of string a response holds, so a night can be compared with the last without being
fooled by values that differ on every call: a string's *shape* (``rfc3339``, ``uuid``,
``9/9/9 9:9``, ``word``, ...), and whether it is a *value* worth remembering (a status, a type
name, an enum-like word) rather than an id, a timestamp or free text."""

from __future__ import annotations

import functools
import re

#: Strings longer than this are never remembered as values: enum-like words are short.
MAX_VALUE_CHARS = 32
#: A shape spelled from digits and punctuation is cut to this many characters.
MAX_SHAPE_CHARS = 24

#: Named shapes, tried in order; the first whose pattern matches names the string.
_NAMED = (
    ("empty", re.compile(r"\Z")),
    ("rfc3339", re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)\Z")),
    ("date-time without offset", re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?\Z")),
    ("date", re.compile(r"\d{4}-\d\d-\d\d\Z")),
    ("uuid", re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")),
    ("integer", re.compile(r"[+-]?\d+\Z")),
    ("decimal", re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?\Z")),
    ("url", re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")),
    ("email", re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+\Z")),
)
_LETTER = re.compile(r"[^\W\d_]")
_DIGITS = re.compile(r"\d+")
#: What a digit pattern keeps besides its ``9``s: ASCII punctuation and spaces (anything else is ``?``).
_NOT_PUNCTUATION = re.compile(r"[^9 !-/:-@\[-`{-~]")
#: An enum-like word, or up to three of them: letters first, a digit or two at most (``v2``).
_VALUE = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*( [A-Za-z0-9_.\-]+){0,2}\Z")
_ONE_TOKEN = re.compile(r"[A-Za-z0-9]+\Z")


def classified(text: str) -> tuple[str, bool]:
    """``shape_of`` and ``is_value`` of a string, remembered when short: answers repeat their
    strings (a long one is never a value, and is not kept in memory)."""
    return _remembered(text) if len(text) <= 4 * MAX_VALUE_CHARS else (shape_of(text), False)


@functools.lru_cache(maxsize=16384)
def _remembered(text: str) -> tuple[str, bool]:
    return shape_of(text), is_value(text)


def shape_of(text: str) -> str:
    """The shape of a string: a named format, digits and punctuation spelled as a pattern
    (``22/11/2026 10:00`` is ``9/9/9 9:9``: digit runs of any length are one ``9``, so a day
    without its leading zero is the same shape), else ``word``, ``words``, ``token`` (letters
    and digits: an id) or ``text``."""
    for name, pattern in _NAMED:
        if pattern.match(text):
            return name
    if not _LETTER.search(text):
        if not any(character.isdigit() for character in text):
            return "symbols"
        return _NOT_PUNCTUATION.sub("?", _DIGITS.sub("9", text))[:MAX_SHAPE_CHARS]
    if any(character.isdigit() for character in text) and " " not in text:
        return "token"
    words = len(text.split())
    return "word" if words == 1 else ("words" if words <= 3 else "text")


def is_value(text: str) -> bool:
    """Whether a string is remembered as a value: short, enum-like (``Completed``, ``run.started``,
    ``Not Started``, ``v2``), not an id (a long single token, or one with more than two digits),
    a timestamp, a URL or free text."""
    if not 0 < len(text) <= MAX_VALUE_CHARS or not _VALUE.match(text):
        return False
    if sum(character.isdigit() for character in text) > 2:
        return False
    return not (len(text) > 20 and _ONE_TOKEN.match(text))
