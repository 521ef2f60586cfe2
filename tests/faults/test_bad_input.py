"""Bad input stops the suite before it judges anything: exit 2, one line that says what to fix,
no traceback, and the reports of an earlier run left exactly as they were."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.contract.specs import load_spec_file
from conformance.errors import SpecError
from conformance.vendors.registry import SPECS_DIR, SPECS_DIR_ENV, get_api

from ..inprocess import InProcess

EARLIER = {"results.json": '{"earlier": true}\n', "index.html": "<p>earlier</p>\n", "history.jsonl": "{}\n"}


def cli(*args: str, specs: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, SPECS_DIR_ENV: str(specs)} if specs else {**os.environ}
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args], capture_output=True, text=True, timeout=120, env=env
    )


def assert_stopped(completed: subprocess.CompletedProcess[str], message: str, report: Path) -> None:
    assert completed.returncode == 2
    assert completed.stderr.startswith("conformance: error: ") and message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1, completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    assert {p.name: p.read_text() for p in report.iterdir()} == EARLIER


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


BROKEN_SPECS: dict[str, tuple[Callable[[Path], None], str]] = {
    "not OpenAPI": (
        lambda d: edit(d / "kognitos.yaml", "openapi: 3.1.0", "openapi: banana"),
        "kognitos.yaml: invalid OpenAPI: no supported 'openapi' version",
    ),
    "broken $ref": (
        lambda d: edit(
            d / "kognitos.yaml", "#/components/schemas/ProcessStage", "#/components/schemas/Stage"
        ),
        "kognitos.yaml: invalid OpenAPI: '/components/schemas/Stage' does not exist",
    ),
    "not YAML": (
        lambda d: (d / "kognitos.yaml").write_text("openapi: [3.1.0\n"),
        "kognitos.yaml: invalid YAML (line 2)",
    ),
    "missing spec": (lambda d: (d / "kognitos.yaml").unlink(), "kognitos.yaml: file not found"),
    "catalogue entry without summary": (
        lambda d: edit(d / "quirks" / "kognitos.yaml", "    summary: >-\n", "    sumary: >-\n"),
        "quirks/kognitos.yaml: malformed catalogue at quirks/0: 'summary' is a required property",
    ),
    "catalogue entry of the wrong API": (
        lambda d: edit(d / "quirks" / "kognitos.yaml", "api: kognitos", "api: robocorp"),
        "quirks/kognitos.yaml",
    ),
}


@pytest.mark.parametrize(("breakage", "message"), list(BROKEN_SPECS.values()), ids=list(BROKEN_SPECS))
def test_a_broken_spec_or_catalogue_stops_the_run(
    tmp_path: Path, earlier_report: Path, breakage: Callable[[Path], None], message: str
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS_DIR, specs)
    breakage(specs)
    completed = cli("run", "kognitos", "--report-dir", str(earlier_report), specs=specs)
    assert_stopped(completed, message, earlier_report)


def test_a_spec_is_validated_again_once_it_changes_and_a_cache_that_cannot_be_written_costs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands skip validating a document that passed before; that must never let a broken one in."""
    specs = tmp_path / "specs"
    shutil.copytree(SPECS_DIR, specs)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    api = get_api("kognitos")
    load_spec_file(api, specs / "kognitos.yaml")
    assert len(list((tmp_path / "cache").rglob("*"))) == 3  # conformance/valid-openapi/<digest>
    load_spec_file(api, specs / "kognitos.yaml")
    BROKEN_SPECS["broken $ref"][0](specs)
    with pytest.raises(SpecError, match="'/components/schemas/Stage' does not exist"):
        load_spec_file(api, specs / "kognitos.yaml")
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert load_spec_file(api, SPECS_DIR / "kognitos.yaml").api.name == "kognitos"
    with pytest.raises(SpecError, match="does not exist"):
        load_spec_file(api, specs / "kognitos.yaml")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "kognitos", "salesforce"], "unknown API 'salesforce'; choose from: solvexia"),
        (["run", "kognitos", "--max-body-mb", "0"], "--max-body-mb must be positive"),
        (
            ["run", "kognitos", "--request-timeout", "0"],
            "--request-timeout and --max-body-mb must be positive",
        ),
        (["run", "kognitos", "--workers", "0"], "--max-examples and --workers must be at least 1"),
        (
            ["replay", "cassettes/mocks", "--api", "salesforce"],
            "--api 'salesforce' is not a valid value (one of: solvexia",
        ),
    ],
)
def test_unknown_names_and_contradictory_flags(
    in_process: InProcess, args: list[str], message: str, earlier_report: Path
) -> None:
    assert_stopped(in_process(*args, "--report-dir", str(earlier_report)), message, earlier_report)


@pytest.mark.parametrize(
    "command", [["run", "kognitos"], ["replay", str(SPECS_DIR.parent / "cassettes/mocks")]]
)
def test_an_unwritable_report_directory_stops_before_any_work(
    in_process: InProcess, tmp_path: Path, command: list[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    completed = in_process(*command, "--report-dir", str(blocker / "report"))
    assert completed.returncode == 2
    assert (
        completed.stderr.strip()
        == f"conformance: error: cannot write reports to {blocker / 'report'}: Not a directory"
    )
    assert completed.stdout == "" and blocker.read_text() == "not a directory\n"
