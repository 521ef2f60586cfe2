"""``history.jsonl``: one summary line per run, appended, so the report can draw a trend.

The file is append-only and line-oriented: a run that dies mid-write can damage at most its
own last line, which the reader skips instead of losing every earlier run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HISTORY_FILE = "history.jsonl"


def summary_line(document: dict[str, Any]) -> dict[str, Any]:
    """The part of a results document the trend needs, small enough to keep forever."""
    return {
        "finished_at": document["finished_at"],
        "exit_code": document["exit_code"],
        "summary": document["summary"],
        "apis": {
            api["api"]: {"score": api["score"], "known": api["known"], "new": api["new"]}
            for api in document["apis"]
        },
    }


def append_history(document: dict[str, Any], directory: Path) -> None:
    """Add this run's summary as one line at the end of ``directory/history.jsonl``.

    A run killed mid-write leaves a last line without its newline; this line then starts on a
    fresh line, so only the damaged one is lost, never the run after it.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / HISTORY_FILE).open("a+b") as stream:
        damaged = stream.tell() > 0 and (stream.seek(-1, 2), stream.read(1))[1] != b"\n"
        line = json.dumps(summary_line(document), sort_keys=True) + "\n"
        stream.write((("\n" if damaged else "") + line).encode("utf-8"))


def read_history(directory: Path) -> list[dict[str, Any]]:
    """Every readable summary line in run order; damaged or foreign lines are skipped."""
    path = directory / HISTORY_FILE
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and {"finished_at", "exit_code", "apis"} <= entry.keys():
            entries.append(entry)
    return entries
