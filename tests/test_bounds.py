"""``bounds.ReadLimits``: how much of a body and of a file a command reads, one value from where
``--max-body-mb`` is read to every reader, so that the file bound is worked out in one place."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.bounds import DEFAULT_LIMITS, FILE_BODIES, MAX_BODY_BYTES, ReadLimits
from conformance.cassettes.cassette import CassetteError, load_cassette, parse_document, read_cassette
from conformance.cassettes.diff import diff, profile
from conformance.cassettes.replay import replay
from conformance.engine.settings import read_limits
from conformance.errors import UsageError
from conformance.judge.registry import check_response
from conformance.results.publish import load_results, merge_reports, rerender_report

from .inprocess import InProcess

MB = 1024 * 1024
#: ``--max-body-mb 0.001``: 1048 bytes a body, 4192 a file.
SMALL = read_limits("0.001")
#: What reads a cassette, a results file or a body, given the limits.
READERS = [parse_document, load_cassette, read_cassette, profile, diff, replay, load_results, rerender_report,
           merge_reports, check_response]  # fmt: skip
#: The commands that read cassettes or results files, each given one just over ``SMALL``.
FILE_COMMANDS = [["replay", "over.yaml", "--report-dir", "r"], ["diff", "over.yaml", "over.yaml"],
                 ["report", "over.json"], ["compare", "over.json", "over.json"]]  # fmt: skip


def test_the_limits_of_a_number_of_megabytes_bound_a_body_and_a_file_of_several_bodies() -> None:
    limits = ReadLimits.from_megabytes(0.5)
    assert limits == ReadLimits(MB // 2)
    assert (limits.body_bytes, limits.file_bytes) == (MB // 2, FILE_BODIES * MB // 2)
    assert DEFAULT_LIMITS == ReadLimits.from_megabytes(10) == ReadLimits(MAX_BODY_BYTES)
    assert DEFAULT_LIMITS.file_bytes == 40 * MB
    assert (SMALL.body_bytes, SMALL.file_bytes) == (1048, 4192)


def test_the_limits_are_a_frozen_value() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.body_bytes = 1  # type: ignore[misc]
    assert len({ReadLimits(MB), ReadLimits.from_megabytes(1)}) == 1  # hashable, compared by value


@pytest.mark.parametrize("reader", READERS, ids=lambda reader: reader.__name__)
def test_every_offline_reader_takes_the_limits_never_a_bare_number_of_bytes(
    reader: Callable[..., Any],
) -> None:
    parameters = inspect.signature(reader).parameters
    assert str(parameters["limits"].annotation) == "ReadLimits"
    assert parameters["limits"].default is DEFAULT_LIMITS
    bare = [name for name in parameters if "byte" in name or name in ("limit", "max_bytes")]
    assert not bare, f"{reader.__name__} takes a bare body limit: {bare}"


@pytest.mark.parametrize(
    ("read", "error"),
    [
        (lambda path, limits: list(read_cassette(path, limits)), CassetteError),
        (load_cassette, CassetteError),
        (parse_document, CassetteError),
        (load_results, UsageError),
    ],
    ids=["read_cassette", "load_cassette", "parse_document", "load_results"],
)
def test_a_file_one_byte_over_the_limits_is_refused_in_one_line_by_every_reader(
    read: Callable[[Path, ReadLimits], Any], error: type[Exception], tmp_path: Path
) -> None:
    at_limit, over = tmp_path / "at", tmp_path / "over"
    at_limit.write_bytes(b" " * SMALL.file_bytes)
    over.write_bytes(b" " * (SMALL.file_bytes + 1))
    with pytest.raises(error) as refused:
        read(over, SMALL)
    assert str(refused.value) == f"{over}: larger than 4192 bytes; not read"
    try:  # a file of exactly file_bytes is read (then empty, or no results file)
        read(at_limit, SMALL)
    except error as exc:
        assert "larger than" not in str(exc)


@pytest.mark.parametrize("command", FILE_COMMANDS, ids=lambda command: command[0])
def test_every_command_that_reads_files_refuses_one_just_over_its_max_body_mb(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("over.yaml", "over.json"):
        (tmp_path / name).write_bytes(b" " * (SMALL.file_bytes + 1))
    outcome = InProcess(monkeypatch, capsys)(*command, "--max-body-mb", "0.001", cwd=tmp_path)
    assert outcome.returncode == 2, outcome
    assert f"{command[1]}: larger than 4192 bytes; not read" in outcome.stdout + outcome.stderr
