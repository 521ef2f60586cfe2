"""Small declared surfaces: the result model, reports, console and replay do without the test
engine, so re-rendering a report or replaying a cassette never loads schemathesis."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conformance.contract.catalogue import _ENTRY_SCHEMA
from conformance.findings import BREAKING
from conformance.kinds import KINDS, Severity, kind_of, observable_kinds
from conformance.results.document import write_results
from conformance.results.model import RunResult


@pytest.mark.parametrize(
    "module",
    [
        "conformance.results.publish",
        "conformance.results.document",
        "conformance.cli.console",
        "conformance.cassettes.replay",
        "conformance.results.merge",
        "conformance.results.compare",
    ],
)
def test_reading_results_does_not_import_the_test_engine(module: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines()]
    assert not [name for name in imported if name.startswith("schemathesis")]
    assert f"{module}".rsplit(".", 1)[-1] in " ".join(imported)


#: What re-rendering a report must not load: the test engine, its data generator, HTTP clients.
ENGINE_AND_HTTP = ("schemathesis", "hypothesis", "httpx", "requests")


def test_the_modules_that_rerender_a_report_import_no_engine_and_no_http_client() -> None:
    modules = "conformance.results.publish, conformance.results.document, conformance.results.html.render"
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {modules}"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines()]
    assert "conformance.results.html.render" in imported
    assert not [name for name in imported if name.split(".", 1)[0] in ENGINE_AND_HTTP]


def test_a_run_starts_its_mock_processes_without_loading_a_server() -> None:
    """The embedded mocks are ``conformance serve`` processes: the run that starts them loads
    neither Starlette nor uvicorn, while the package still hands out its mocks to whoever asks."""
    script = (
        "import sys; from conformance.mocks.process import MockProcess\n"
        "before = {name.split('.')[0] for name in sys.modules}\n"
        "from conformance.mocks import MockServer, create_mock\n"
        "title = create_mock('kognitos').spec.document['info']['title']\n"
        "print(sorted(before & {'starlette', 'uvicorn'}), MockServer.__name__, title)"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    loaded, served, title = completed.stdout.strip().split(" ", 2)
    assert (loaded, served, title) == ("[]", "MockServer", "Kognitos REST API v2 - Runs")


def test_rerendering_a_report_does_not_load_schemathesis(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    moment = datetime(2026, 12, 1, 3, 17, tzinfo=UTC)
    write_results(RunResult(BREAKING, [], moment, moment, complete=True), tmp_path)
    script = (
        "import sys; from conformance.cli.main import main; code = main(['report', sys.argv[1]]); "
        "print(code, 'schemathesis' in sys.modules)"
    )
    completed = subprocess.run([sys.executable, "-c", script, str(results)], capture_output=True, text=True)
    assert completed.stdout.splitlines()[-1] == "0 False", completed.stdout + completed.stderr


def test_the_kinds_table_is_what_the_catalogue_accepts() -> None:
    entry = _ENTRY_SCHEMA["properties"]["quirks"]["items"]["properties"]
    assert entry["kind"]["enum"] == sorted(KINDS)
    assert entry["manifests"]["items"]["properties"]["kind"]["enum"] == observable_kinds()
    assert [name for name, kind in KINDS.items() if kind.severity is Severity.ADDITIVE] == ["extra-field"]
    assert kind_of("negative_data_rejection").severity is Severity.BREAKING


def test_merging_and_comparing_reports_do_not_load_schemathesis(tmp_path: Path) -> None:
    moment = datetime(2026, 12, 1, 3, 17, tzinfo=UTC)
    for name in ("a", "b"):
        write_results(RunResult(BREAKING, [], moment, moment, complete=True), tmp_path / name)
    a, b = str(tmp_path / "a" / "results.json"), str(tmp_path / "b" / "results.json")
    script = (
        "import sys; from conformance.cli.main import main; "
        "codes = [main(['report', *sys.argv[1:3], '--out', sys.argv[3], '--baseline', sys.argv[1]]), "
        "main(['compare', *sys.argv[1:3]])]; print(codes, 'schemathesis' in sys.modules)"
    )
    argv = [sys.executable, "-c", script, a, b, str(tmp_path / "merged")]
    completed = subprocess.run(argv, capture_output=True, text=True)
    assert completed.stdout.splitlines()[-1] == "[0, 0] False", completed.stdout + completed.stderr


#: What each command must not load: the test engine, HTTP clients, vcrpy (and its aiohttp), and
#: jsonschema where no body is explained.
COMMANDS_LOAD_NOT = {
    ("--version",): ("schemathesis", "hypothesis", "httpx", "requests", "vcr", "jsonschema"),
    ("list",): ("schemathesis", "hypothesis", "httpx", "requests", "vcr", "jsonschema"),
    ("replay", "ONE", "--report-dir", "OUT"): (
        "schemathesis",
        "hypothesis",
        "httpx",
        "requests",
        "vcr",
        "jsonschema",
    ),
}


@pytest.mark.parametrize("args", list(COMMANDS_LOAD_NOT), ids=lambda args: args[0])
def test_a_command_imports_only_what_it_uses(args: tuple[str, ...], tmp_path: Path) -> None:
    from conformance.cassettes.cassette import parse_document, write_cassette
    from conformance.vendors.registry import CASSETTES_DIR

    one = tmp_path / "one.yaml"
    write_cassette(one, parse_document(CASSETTES_DIR / "mocks" / "kognitos.yaml")["interactions"][:1])
    argv = [{"ONE": str(one), "OUT": str(tmp_path / "out")}.get(arg, arg) for arg in args]
    script = (  # as the installed command runs it: its working module loaded first (``console``)
        "import sys; from conformance.cli.main import main\n"
        "try:\n    code = main(sys.argv[1:], own_process=True)\n"
        "except SystemExit as exit:\n    code = exit.code\n"
        "print(code, sorted({name.split('.')[0] for name in sys.modules}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    code, loaded = completed.stdout.splitlines()[-1].split(" ", 1)
    assert code in ("0", "None"), completed.stdout + completed.stderr
    assert not [name for name in COMMANDS_LOAD_NOT[args] if f"'{name}'" in loaded], loaded


def test_the_command_tunes_the_collector_of_its_own_process_only() -> None:
    """``conformance`` in a process of its own leaves what the imports made to the collector's
    frozen generation and collects after 10,000 new objects; a caller of ``main`` (a test) keeps
    its collector as it was."""
    script = (
        "import gc; from conformance.cli.main import main\n"
        "before = gc.get_threshold(); codes = [main(['list'])]\n"
        "kept = gc.get_threshold() == before and gc.get_freeze_count() == 0\n"
        "codes.append(main(['list'], own_process=True))\n"
        "print(codes, kept, gc.get_threshold(), gc.get_freeze_count() > 0)"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert completed.stdout.splitlines()[-1] == "[0, 0] True (10000, 10, 10) True", completed.stderr
