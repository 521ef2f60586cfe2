"""Bounds on what the suite reads from outside and on what it writes.

Servers, cassettes, results files and specs are hostile input: a body nested 100,000 levels
deep, a value of 2 MB, ``NaN``, a field name holding an escape sequence or a lone surrogate.
This module is where each of those is bounded once:

- ``loads_json`` parses JSON no deeper than ``MAX_JSON_DEPTH`` and refuses ``NaN`` and
  ``Infinity`` (they are not JSON); a deeper document is a ``JsonRejected`` with a stable
  ``problem`` (``nested deeper than 64 levels``), never a ``RecursionError``;
- ``ReadLimits`` is how much one command reads of a body and of a file (``--max-body-mb``);
- ``read_file`` reads at most a given number of bytes of a file;
- ``printable`` escapes control characters, lone surrogates and bidirectional overrides, so a
  terminal, an XML file or a log line shows them as text;
- ``stored`` is a value as a report keeps it: printable and cut to ``MAX_STORED_CHARS`` with a
  marker saying how long it was;
- ``strict_json`` is JSON every other tool can read (no bare ``NaN``).
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any

#: JSON nested deeper than this is not parsed. Contract responses nest a few levels; the bound
#: keeps every recursive walk of a document (validation, redaction, profiles) far from the
#: interpreter's recursion limit.
MAX_JSON_DEPTH = 64
#: Bodies are read up to this size; contract responses of these APIs are a few kilobytes.
MAX_BODY_BYTES = 10 * 1024 * 1024
#: Specs and catalogues are read up to this size (``conformance.toml``: ``MAX_CONFIG_BYTES``).
MAX_INPUT_BYTES = 16 * 1024 * 1024
#: Values, messages and locations are stored up to this many characters (then a marker).
MAX_STORED_CHARS = 2048
#: Reproducing requests are stored up to this many characters.
MAX_REQUEST_CHARS = 16384
#: Files a command reads hold several bodies: they may be this many times ``--max-body-mb``.
FILE_BODIES = 4

#: A string of JSON once its escapes are gone and only quotes and brackets are left.
_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


@dataclass(frozen=True)
class ReadLimits:
    """How much of a body and of a file one command reads: set once, where ``--max-body-mb`` is
    read, and handed whole to a run's ``RequestPolicy`` and to every reader of cassettes and
    results files, so that no reader works out a file's bound from a bare number of its own.

    ``body_bytes``: a body, decompressed; ``file_bytes``: a file, which holds several bodies."""

    body_bytes: int

    @classmethod
    def from_megabytes(cls, megabytes: float) -> ReadLimits:
        """The limits ``--max-body-mb megabytes`` sets (its range is the command line's to check)."""
        return cls(int(megabytes * 1024 * 1024))

    @property
    def file_bytes(self) -> int:
        """A cassette or a results file: ``FILE_BODIES`` bodies."""
        return FILE_BODIES * self.body_bytes


#: The limits of a command not given ``--max-body-mb``: 10 MB a body, 40 MB a file.
DEFAULT_LIMITS = ReadLimits(MAX_BODY_BYTES)


class JsonRejected(ValueError):
    """A document that is not accepted as JSON, with a short cause that stays the same from call
    to call (``problem``), so that findings about it merge."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class LargeNumber(float):
    """A JSON number too large for a float (``1e400``): compares as infinity, written as its text."""

    text: str

    def __new__(cls, text: str) -> LargeNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


def json_depth(data: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep ``data`` nests, counted only when it could be deeper than ``limit`` (else 0).

    Linear in the size and without recursion, in C: escaped backslashes and quotes are removed,
    then all but quotes and brackets; the strings left (quotes only now) are removed from that,
    and the brackets that remain are summed (``itertools.accumulate``)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return 0
    structure = data.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = _STRING.sub(b"", structure)
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)


def _reject_constant(name: str) -> Any:
    raise JsonRejected(f"{name} is not JSON")


def parse_number(text: str) -> float:
    """A JSON number; one too large for a float (``1e400``) keeps its spelling (``LargeNumber``)."""
    number = float(text)
    return number if math.isfinite(number) else LargeNumber(text)


def loads_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` within bounds: no deeper than ``max_depth``, no ``NaN``/``Infinity``.

    Raises ``ValueError`` like ``json.loads`` (``JsonRejected`` for what the bounds refuse,
    ``UnicodeDecodeError`` for bytes that are not text)."""
    raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
    if json_depth(raw, max_depth) > max_depth:
        raise JsonRejected(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(data, parse_constant=_reject_constant, parse_float=parse_number)
    except RecursionError:  # a stack already deep when called; never a crash
        raise JsonRejected(f"nested deeper than {max_depth} levels") from None


#: Opened without blocking (a FIFO would wait for a writer; a regular file ignores the flag) and
#: never as the controlling terminal.
_READ_FLAGS = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
)


def read_file(
    path: Path, limit: int, error: Callable[[str], Exception], *, missing: str = "no such file"
) -> bytes:
    """At most ``limit`` bytes of the regular file ``path``; a larger one is ``error``, and so is
    anything else (a FIFO, whose reading would wait for a writer forever, ``/dev/zero``)."""
    try:
        handle = os.open(path, _READ_FLAGS)
        with os.fdopen(handle, "rb") as stream:
            if not stat.S_ISREG(os.fstat(handle).st_mode):
                raise error(f"{path}: not a regular file; not read")
            data = stream.read(limit + 1)
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{path}: larger than {describe_size(limit)}; not read")
    return data


def read_text(
    path: Path, error: type[Exception], *, missing: str = "file not found", limit: int = MAX_INPUT_BYTES
) -> str:
    """Read a UTF-8 input file of at most ``limit`` bytes, turning every failure into ``error``
    with a one-line cause."""
    data = read_file(path, limit, error, missing=missing)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: cannot read: {exc}") from None


def describe_size(size: int) -> str:
    if size >= 1024 * 1024 and size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return f"{size} bytes"


#: C0 and C1 controls, DEL, lone surrogates, and the bidirectional overrides and isolates that
#: can make a terminal line read differently from its bytes.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_UNPRINTABLE_LINES = re.compile(_UNPRINTABLE.pattern.replace("\x00-\x1f", "\x00-\x08\x0b-\x1f"))


def printable(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character escaped (``\\x1b``, ``\\u202e``): one line, and
    nothing a terminal, an XML parser or a log reader would act on (``lines``: keep tabs and
    line feeds, for a multi-line text such as a JUnit failure)."""
    return (_UNPRINTABLE_LINES if lines else _UNPRINTABLE).sub(_escape, text)


def clip(text: str, limit: int = MAX_STORED_CHARS) -> str:
    """``text`` cut to ``limit`` characters, with a marker that says how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [truncated: {len(text)} characters]"


def stored_text(text: str, limit: int = MAX_STORED_CHARS) -> str:
    """A string as an output keeps it: printable, then cut."""
    return clip(printable(text), limit)


def stored(value: Any, limit: int = MAX_STORED_CHARS) -> Any:
    """A value as an output keeps it: strings printable and cut; a structure whose JSON is longer
    than ``limit`` becomes that JSON, cut (with the marker); non-finite numbers become text."""
    if isinstance(value, str):
        return stored_text(value, limit)
    if isinstance(value, dict | list):
        text = json.dumps(plain(value), ensure_ascii=False, default=str)
        if len(text) > limit:
            return stored_text(text, limit)
    return plain(value)


def plain(value: Any) -> Any:
    """``value`` with printable strings (keys too) and non-finite numbers as text, at any depth."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, float) and not math.isfinite(value):
        return getattr(value, "text", None) or repr(value).replace("inf", "Infinity")
    if isinstance(value, dict):
        return {printable(str(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def strict_json(document: Any, **kwargs: Any) -> str:
    """``document`` as strict JSON: printable strings, no ``NaN`` or ``Infinity`` (as text)."""
    return json.dumps(plain(document), allow_nan=False, default=str, **kwargs)
