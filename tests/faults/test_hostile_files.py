"""Issue 28, the files: a cassette nested past the Rust parser's stack, a spec's alias bomb, a
FIFO where a file is read, characters XML cannot hold, the pytest plugin's report folder, two
runs publishing to one folder, a large merge and its exit code. Each is the real command line
over real files, as in ``test_hostile.py``: a finding or a one-line error, never a crash, within
bounded time and memory, with outputs that parse and nothing good lost. It runs in a child process
where its time or memory is measured, where it may crash the interpreter, where this process would
keep a spec it read, and where processes publish side by side; elsewhere in this process (the
plugin's pytest session through pytester)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.results.history import HISTORY_FILE
from conformance.vendors.registry import SPECS_DIR, SPECS_DIR_ENV

from .hostile import Outcome, conformance, mock_replay_results, one_line_error, strict_json, valid_outputs

MOCK_CASSETTES = SPECS_DIR.parent / "cassettes" / "mocks"
pytest_plugins = ["pytester"]


def test_a_cassette_nested_100000_deep_is_one_error_line_not_a_segfault(tmp_path: Path) -> None:
    text = (MOCK_CASSETTES / "kognitos.yaml").read_text()
    start = text.index("    body: '{")  # the first request's body, nested as compact block sequences
    deep = (
        text[:start]
        + "    body:\n      "
        + "- " * 100_000
        + "x\n"
        + text[text.index("    headers:", start) :]
    )
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "kognitos.yaml").write_text(deep)
    assert len(deep) < 256 * 1024
    replayed = conformance("replay", "deep", "--report-dir", "r1", cwd=tmp_path)
    skipping = conformance("replay", "deep", "--skip-unknown", "--report-dir", "r2", cwd=tmp_path)
    compared = conformance("diff", str(MOCK_CASSETTES / "kognitos.yaml"), "deep/kognitos.yaml", cwd=tmp_path)
    for outcome, report in ((replayed, "r1"), (skipping, "r2")):
        assert outcome.code == 2, outcome  # was rc 139, a segfault, with no report
        assert valid_outputs(tmp_path / report)["errors"] == [
            "kognitos: deep/kognitos.yaml: invalid YAML (line 4): exceeded maximum nesting depth"
        ]
    assert compared.code == 2 and "exceeded maximum nesting depth" in compared.out, compared
    for outcome in (replayed, skipping, compared):
        assert "Traceback" not in outcome.printed and outcome.seconds < 30 and outcome.peak_mb < 300, outcome


def test_a_spec_alias_bomb_is_one_line_within_bounds(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS_DIR, specs)
    laughs = ["x-laughs:", "  a: &a [" + ", ".join(["lol"] * 10) + "]"]
    laughs += [
        f"  {b}: &{b} [" + ", ".join([f"*{a}"] * 10) + "]"
        for a, b in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    bomb = "\n".join(laughs) + "\n"
    assert len(bomb) < 1024  # 10**9 nodes written out
    spec = specs / "kognitos.yaml"
    spec.write_text(spec.read_text() + bomb)
    environment = {SPECS_DIR_ENV: str(specs), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    listed = conformance("list", cwd=tmp_path, env=environment)
    one_line_error(listed, "kognitos.yaml: invalid YAML: its aliases expand it to more than")
    assert listed.seconds < 30 and listed.peak_mb < 300, listed  # was 3 GB, then MemoryError
    # a spec that repeats a schema by alias is read as before, and its validation remembered
    spec.write_text(spec.read_text().replace(bomb, "x-repeated: {a: &a [1, 2], b: [*a, *a]}\n"))
    for _ in range(2):
        assert conformance("list", cwd=tmp_path, env=environment).code == 0
    assert len(list((tmp_path / "cache" / "conformance" / "valid-openapi").iterdir())) == 4


def test_a_fifo_or_a_device_is_refused_in_one_line_never_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # no writer: opening it to read would wait forever
    outcomes = [
        conformance("run", "kognitos", "--config", "fifo", cwd=tmp_path, timeout=30),
        conformance("replay", "fifo", "--report-dir", "r", cwd=tmp_path, timeout=30),
        conformance("report", "fifo", "--out", "r", cwd=tmp_path, timeout=30),
        conformance("diff", "fifo", "fifo", cwd=tmp_path, timeout=30),
        conformance("report", "/dev/zero", "--out", "r", cwd=tmp_path, timeout=30),
    ]
    for outcome in outcomes[:3]:
        one_line_error(outcome, "fifo: not a regular file; not read")
    assert outcomes[3].code == 2 and "fifo: not a regular file; not read" in outcomes[3].printed
    one_line_error(outcomes[4], "/dev/zero: not a regular file; not read")
    with open(tmp_path / "large.json", "wb") as large:  # a regular file past the bound, sparse
        large.truncate(41 * 1024 * 1024)
    one_line_error(
        conformance("report", "large.json", cwd=tmp_path), "large.json: larger than 40 MB; not read"
    )
    (tmp_path / "conformance.toml").write_text("[run]\n" + "#" * (1024 * 1024) + "\n")
    one_line_error(conformance("run", "kognitos", cwd=tmp_path), "conformance.toml: larger than 1 MB")
    for outcome in outcomes:
        assert "Traceback" not in outcome.printed and outcome.seconds < 30, outcome


def test_characters_xml_cannot_hold_never_reach_junit(here: Callable[..., Outcome], tmp_path: Path) -> None:
    def hostile(interaction: dict[str, Any]) -> None:
        response = interaction["response"]
        if interaction["request"]["method"] == "GET" and response["status"]["code"] == 200:
            document = json.loads(response["body"]["string"])
            document["\ufffe\uffff\x00\ud800"] = "\uffff"
            response["body"]["string"] = json.dumps(document)
            response["headers"].pop("content-length", None)

    interactions = parse_document(MOCK_CASSETTES / "kognitos.yaml")["interactions"]
    for interaction in interactions:
        hostile(interaction)
    write_cassette(tmp_path / "cassettes" / "kognitos.yaml", interactions)
    outcome = here("replay", "cassettes", "--strict", "--report-dir", "r", cwd=tmp_path)
    assert outcome.code == 1, outcome  # an extra member: additive drift, failing a strict replay
    valid_outputs(tmp_path / "r")  # junit.xml parses
    junit = (tmp_path / "r" / "junit.xml").read_text(encoding="utf-8")
    assert "extra-field at /\\ufffe\\uffff\\x00\\ud800" in junit
    assert not {"\ufffe", "\uffff", "\x00"} & set(junit)


def _pytest_judging(pytester: pytest.Pytester, report_dir: str) -> pytest.RunResult:
    """A user's pytest session with the plugin's judge and ``--conformance-report-dir``, in this
    process (pytester), in its own folder."""
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    return pytester.runpytest(
        "-q", "-p", "no:cacheprovider", "--conformance-judge", f"--conformance-report-dir={report_dir}",
        "test_nothing.py",
    )  # fmt: skip


@pytest.mark.parametrize("occupied", ["a file", "a project folder", "the current directory"])
def test_the_pytest_plugin_checks_its_report_folder_as_the_command_line_does(
    pytester: pytest.Pytester, occupied: str
) -> None:
    folder = pytester.path
    if occupied == "a file":
        (folder / "notes.txt").write_text("precious\n")
        given, message = "notes.txt", "cannot write reports to notes.txt: File exists"
    elif occupied == "a project folder":
        (folder / "project" / "src").mkdir(parents=True)
        given, message = "project", "it holds 'src', which is no report file"
    else:
        given, message = ".", "it is the current directory"
    before = sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))
    session = _pytest_judging(pytester, given)
    printed = session.stdout.str() + session.stderr.str()
    assert session.ret == pytest.ExitCode.USAGE_ERROR, printed
    assert message in session.stderr.str() and "Traceback" not in printed
    after = sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))
    assert after == sorted([*before, "test_nothing.py"])
    if occupied == "a file":
        assert (folder / "notes.txt").read_text() == "precious\n"


def test_runs_publishing_to_one_folder_keep_every_history_line(tmp_path: Path) -> None:
    runs = 5
    outcomes: list[Any] = [None] * runs

    def replaying(number: int) -> None:
        outcomes[number] = conformance("replay", str(MOCK_CASSETTES), "--report-dir", "r", cwd=tmp_path)

    threads = [threading.Thread(target=replaying, args=(number,)) for number in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(outcome.code == 0 for outcome in outcomes), outcomes
    lines = (tmp_path / "r" / HISTORY_FILE).read_text().splitlines()
    assert len(lines) == runs and len({json.loads(line)["finished_at"] for line in lines}) == runs
    valid_outputs(tmp_path / "r")
    assert sorted(path.name for path in (tmp_path / "r").iterdir()) == [
        "history.jsonl", "index.html", "junit.xml", "results.json",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def replayed_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The results of a replay of the mock cassettes (known quirks only)."""
    return mock_replay_results(tmp_path_factory, tmp_path_factory.mktemp("replayed"))


@pytest.fixture(scope="module")
def large_results(tmp_path_factory: pytest.TempPathFactory, replayed_results: Path) -> list[Path]:
    """Two results files of 8 MB each (a replay's findings repeated, half in both)."""
    directory = tmp_path_factory.mktemp("large-results")
    source = strict_json(replayed_results)
    paths = []
    for part in ("a", "b"):
        findings = [
            {**finding, "location": f"{finding['location']}/{part if n % 2 else ''}{n}"}
            for n in range(320)
            for finding in source["findings"]
        ]
        paths.append(directory / f"{part}.json")
        paths[-1].write_text(json.dumps({**source, "findings": findings}, indent=2))
    return paths


def test_merging_large_results_is_linear_in_time_and_memory(
    tmp_path: Path, large_results: list[Path]
) -> None:
    assert all(path.stat().st_size > 8_000_000 for path in large_results)
    merged = conformance("report", *map(str, large_results), "--out", "merged", cwd=tmp_path)
    assert merged.code == 0, merged  # known quirks only: conforming
    document = valid_outputs(tmp_path / "merged")
    assert len(document["findings"]) == 17 * 480 and document["exit_code"] == 0
    assert merged.seconds < 60 and merged.peak_mb < 400, merged  # took minutes and GBs at 35 MB


def test_a_merged_report_exits_as_its_verdict(
    here: Callable[..., Outcome], tmp_path: Path, replayed_results: Path
) -> None:
    """0 when conforming (above), 1 with new breaking drift in a part, 2 with a part's error."""
    drifted, errored = strict_json(replayed_results), strict_json(replayed_results)
    drifted["findings"][0].update(classification="new", severity="breaking", quirk=None)
    errored["errors"] = ["kognitos: the server went away"]
    for name, document in (("drifted.json", drifted), ("errored.json", errored)):
        (tmp_path / name).write_text(json.dumps(document))
    for name, code in (("drifted.json", 1), ("errored.json", 2)):
        outcome = here("report", name, str(replayed_results), "--out", name + ".out", cwd=tmp_path)
        assert outcome.code == code and "Traceback" not in outcome.printed, outcome
        assert valid_outputs(tmp_path / f"{name}.out")["exit_code"] == code
