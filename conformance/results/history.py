"""``history.jsonl``: one summary line per run, so the report can draw a trend.

The file is line-oriented: a run that dies mid-write can damage at most its own last line.
Each line is checked against ``ENTRY_SCHEMA`` when it is read: a damaged, foreign or poisoned
line (wrong types, ``NaN``, nested a thousand levels deep) is skipped with one warning, so it
never stops the report or a later run. The file is never followed through a symbolic link (it
could point out of the report directory), and only its last ``MAX_HISTORY_BYTES`` are read.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.bounds import loads_json, printable
from conformance.results.identity import target_of
from conformance.validation import is_valid

HISTORY_FILE = "history.jsonl"
#: History is read from its end, this much of it (years of nightly lines).
MAX_HISTORY_BYTES = 8 * 1024 * 1024

_COUNT = {"type": "integer", "minimum": 0}
#: One line of ``history.jsonl``: what the trend reads, with the types it reads them as.
ENTRY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["finished_at", "exit_code", "apis"],
    "properties": {
        "finished_at": {"type": "string"},
        "exit_code": {"enum": [0, 1, 2]},
        "summary": {"type": "object"},
        "apis": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["score", "known", "new"],
                "properties": {
                    "score": {"type": "number", "minimum": 0, "maximum": 100},
                    "known": _COUNT,
                    "new": _COUNT,
                    "breaking": _COUNT,
                    "assumption": _COUNT,
                    "target": {"type": "string"},
                    "latency": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
                },
            },
        },
    },
}
#: The userinfo of a URL (``scheme://user:password@``), even one already redacted.
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@")


def warn(message: str) -> None:
    print(f"conformance: warning: {printable(message)}", file=sys.stderr)


def server_of(api: dict[str, Any]) -> str:
    """Which server an API's numbers came from, so the trend never joins a mock night to a
    vendor's: the mock mode, or the base URL without its userinfo, query and fragment (where
    credentials ride; the rest was redacted when the run recorded it)."""
    if api.get("mock_mode"):
        return f"{api['mock_mode']} mock"
    url = re.split(r"[?#]", str(api.get("base_url", "")), maxsplit=1)[0]
    return printable(_USERINFO.sub(r"\1", url))


def p95_by_operation(api: dict[str, Any]) -> dict[str, float]:
    """Each timed operation's p95 response time (ms): the report draws it over the nights."""
    return {
        operation["operation"]: operation["profile"]["latency"]["p95_ms"]
        for operation in api["operations"]
        if (operation.get("profile") or {}).get("latency")
    }


def summary_line(document: dict[str, Any]) -> dict[str, Any]:
    """The part of a results document the trend needs, small enough to keep forever: a line
    per target (an API, or an API at one of several targets in a merged report)."""
    return {
        "finished_at": document["finished_at"],
        "exit_code": document["exit_code"],
        "summary": document["summary"],
        "apis": {
            target_of(api): {
                "score": api["score"],
                "known": api["known"],
                "new": api["new"],
                "target": server_of(api),
                **({"latency": latency} if (latency := p95_by_operation(api)) else {}),
            }
            for api in document["apis"]
        },
    }


def _open_no_follow(path: Path, flags: int) -> int:
    """A descriptor of ``path`` itself: a symbolic link there is refused (``ELOOP``)."""
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o666)


def history_lines(directory: Path, report: Callable[[str], None] = warn) -> list[str]:
    """The readable lines of ``directory/history.jsonl`` in run order, as written."""
    path = directory / HISTORY_FILE
    if not os.path.lexists(path):
        return []
    try:
        handle = _open_no_follow(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO: no wait
    except OSError as exc:
        report(f"{path}: not read ({exc.strerror or exc}); the trend starts again")
        return []
    with os.fdopen(handle, "rb") as stream:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            report(f"{path}: not read (not a regular file); the trend starts again")
            return []
        size = os.fstat(stream.fileno()).st_size
        if size > MAX_HISTORY_BYTES:
            stream.seek(size - MAX_HISTORY_BYTES)
            stream.readline()  # the first line read is a fragment
        data = stream.read(MAX_HISTORY_BYTES)
    kept, skipped = [], []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = loads_json(line)
        except ValueError:
            skipped.append(number)
            continue
        if is_valid(ENTRY_SCHEMA, entry):
            kept.append(line)
        else:
            skipped.append(number)
    if skipped:
        lines = ", ".join(map(str, skipped[:5])) + (" ..." if len(skipped) > 5 else "")
        report(f"{path}: skipped {len(skipped)} unreadable line(s) ({lines})")
    return kept


def read_history(directory: Path, report: Callable[[str], None] = warn) -> list[dict[str, Any]]:
    """Every readable summary line in run order; damaged, foreign or poisoned lines are skipped."""
    return [loads_json(line) for line in history_lines(directory, report)]


def history_with(document: dict[str, Any], directory: Path) -> str:
    """``history.jsonl`` as it is published with this run: the readable lines, then this run's."""
    line = json.dumps(summary_line(document), sort_keys=True, allow_nan=False, default=str)
    return "".join(f"{kept}\n" for kept in history_lines(directory)) + line + "\n"
