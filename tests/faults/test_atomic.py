"""Nothing written is ever half a file: reports are replaced in one step, history only grows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.results.files import write_atomic
from conformance.results.history import HISTORY_FILE, history_with, read_history

SUMMARY = {"finished_at": "2026-11-24T07:00:00+00:00", "exit_code": 0, "summary": {}, "apis": []}


def published(document: dict[str, object], directory: Path) -> None:
    """The history as a run publishes it: the readable lines kept, this run's line after them."""
    write_atomic(directory / HISTORY_FILE, history_with(document, directory))


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_litter(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text('{"earlier": true}\n')
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, '{"text": "' + "x" * 100_000 + '\ud800"}')  # fails after most bytes are out
    assert path.read_text() == '{"earlier": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_history_is_only_appended_to(tmp_path: Path) -> None:
    published(SUMMARY, tmp_path)
    first = (tmp_path / HISTORY_FILE).read_bytes()
    published({**SUMMARY, "exit_code": 1}, tmp_path)
    assert (tmp_path / HISTORY_FILE).read_bytes().startswith(first)
    assert [entry["exit_code"] for entry in read_history(tmp_path)] == [0, 1]


def test_a_run_killed_mid_line_costs_only_that_line(tmp_path: Path) -> None:
    published(SUMMARY, tmp_path)
    with (tmp_path / HISTORY_FILE).open("a") as stream:
        stream.write(json.dumps(SUMMARY)[:25])  # the process died here: no newline
    published({**SUMMARY, "exit_code": 1}, tmp_path)
    assert [entry["exit_code"] for entry in read_history(tmp_path)] == [0, 1]
