"""End-to-end runs against the embedded mocks, over real HTTP, through the Python API and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.engine.runner import RunOptions, run
from conformance.kinds import BEHAVIOUR_KINDS
from conformance.results.document import write_results
from conformance.vendors.registry import APIS

from ..inprocess import InProcess
from ..shared import once_per_run

FAST = {"max_examples": 5, "seed": 7}


@pytest.fixture(scope="module")
def faithful(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The faithful mocks' full run, once for all workers (five tests on any of them read it)."""
    return once_per_run(tmp_path_factory, "faithful", lambda out: write_results(run(RunOptions(**FAST)), out))


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The strict mocks' full run, once for all workers."""
    return once_per_run(
        tmp_path_factory,
        "strict",
        lambda out: write_results(run(RunOptions(mock_mode="strict", **FAST)), out),
    )


def new_findings(document: dict) -> list[str]:
    return [
        f"{f['api']} {f['operation']} {f['location']} {f['kind']}: {f['message']}"
        for f in document["findings"]
        if f["classification"] == "new"
    ]


def test_faithful_mocks_show_only_known_quirks(faithful: dict) -> None:
    assert new_findings(faithful) == []
    assert faithful["exit_code"] == 0
    summary = faithful["summary"]
    assert summary["complete"] is True and summary["errors"] == 0
    assert summary["known"] > 0 and summary["new"] == 0
    assert {api["api"] for api in faithful["apis"]} == set(APIS)
    for api in faithful["apis"]:
        assert api["operations_covered"] == api["operations_total"], api["api"]
    adjusted = {api["api"]: api["adjusted_checks"] for api in faithful["apis"]}
    assert "documents 403" in adjusted["solvexia"]["missing_required_header"]
    assert adjusted["kognitos"] == {}
    known = [f for f in faithful["findings"] if f["classification"] == "known"]
    assert all(f["quirk"] and f["doc"] for f in known)


def test_strict_mocks_show_nothing(strict: dict) -> None:
    assert new_findings(strict) == []
    assert strict["summary"]["known"] == 0
    assert strict["exit_code"] == 0


def test_mocks_behave_as_their_lists_and_runs_promise(faithful: dict, strict: dict) -> None:
    """Every list walked, every run followed to its end and past it, every command's effect
    checked: neither the faithful nor the strict mocks give a behaviour finding."""
    for document in (faithful, strict):
        assert [f for f in document["findings"] if f["kind"] in BEHAVIOUR_KINDS] == []


def test_every_reproduced_quirk_is_seen_in_a_faithful_run(faithful: dict) -> None:
    from conformance.contract.catalogue import load_catalogue

    seen = {f["quirk"] for f in faithful["findings"]}
    for api in APIS:
        reproduced = {q.id for q in load_catalogue(api).quirks if q.reproduced}
        assert reproduced <= seen, f"{api}: reproduced quirks never observed: {sorted(reproduced - seen)}"


def test_junit_has_a_testcase_per_operation_and_check(faithful: dict, tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    result = run(RunOptions(apis=["kognitos"], phases=("examples",), **FAST))
    write_results(result, tmp_path)
    root = ET.parse(tmp_path / "junit.xml").getroot()
    cases = {(case.get("classname"), case.get("name")) for case in root.iter("testcase")}
    assert ("kognitos.getRun", "contract") in cases
    assert ("kognitos.listRuns", "negative_data_rejection") in cases
    assert not list(root.iter("failure"))


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    """The command line, in this process: what it decides and prints, not its process, is tested here
    (tests/test_wheel.py runs the installed command)."""
    return InProcess(monkeypatch, capsys)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "nosuchapi"], "unknown API 'nosuchapi'"),
        (["run", "solvexia", "kognitos", "--base-url", "http://127.0.0.1:9"], "name exactly one API"),
        (["run", "--phases", "examples,warp"], "unknown phase 'warp'"),
        (
            ["run", "kognitos", "--base-url", "http://127.0.0.1:9", "--mock-mode", "strict", "--token", "t"],
            "cannot be combined",
        ),
        (["run", "kognitos", "--max-examples", "many"], "--max-examples 'many' is not a valid value"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    cli: InProcess, args: list[str], message: str, tmp_path: Path
) -> None:
    completed = cli(*args, "--report-dir", str(tmp_path / "r")) if args[0] == "run" else cli(*args)
    assert completed.returncode == 2
    assert message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in completed.stderr + completed.stdout


def test_an_unreachable_server_exits_2_and_still_writes_results(cli: InProcess, tmp_path: Path) -> None:
    completed = cli(
        "run",
        "kognitos",
        "--base-url",
        "http://127.0.0.1:9/v2",
        "--token",
        "t",
        "--report-dir",
        str(tmp_path),
    )
    assert completed.returncode == 2, completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["summary"]["errors"] == 1
    assert "cannot reach kognitos" in document["errors"][0]


def test_cli_run_against_one_faithful_mock(cli: InProcess, tmp_path: Path) -> None:
    completed = cli(
        "run",
        "kognitos",
        "--max-examples",
        "3",
        "--phases",
        "examples",
        "--report-dir",
        str(tmp_path),
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["summary"]["known"] > 0 and document["summary"]["new"] == 0
    assert (tmp_path / "junit.xml").exists()
    assert "no new drift" in completed.stdout
