"""results.json is what ``docs/results.schema.json`` publishes, and it records the seed the engine
used and every option, so that a red night is re-run exactly from its ``options.rerun``."""

from __future__ import annotations

import json
import shlex
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance import __version__
from conformance.cassettes.replay import replay
from conformance.cli.arguments import build_parser
from conformance.cli.main import main
from conformance.cli.running import run_options
from conformance.engine.options import RunOptions
from conformance.engine.provenance import recorded_options
from conformance.engine.runner import run
from conformance.results.document import write_results
from conformance.results.merge import merge_documents
from conformance.results.publish import load_results
from conformance.vendors.registry import CASSETTES_DIR

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "results.schema.json").read_text())
QUICK = {"apis": ["kognitos"], "phases": ("fuzzing",), "max_examples": 2}


def validate(document: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(SCHEMA)
    validator = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


@pytest.fixture(scope="module")
def unseeded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run given no seed, as written to disk."""
    directory = tmp_path_factory.mktemp("run")
    write_results(run(RunOptions(**QUICK)), directory)  # type: ignore[arg-type]
    return json.loads((directory / "results.json").read_text())


def test_a_run_is_what_the_schema_publishes(unseeded: dict[str, Any]) -> None:
    validate(unseeded)


def test_a_run_given_no_seed_records_the_one_it_drew_and_reruns_the_same(
    unseeded: dict[str, Any], tmp_path: Path
) -> None:
    seed = unseeded["seed"]
    assert isinstance(seed, int) and unseeded["options"]["seed"] == seed
    rerun = shlex.split(unseeded["options"]["rerun"])
    assert rerun[:3] == ["conformance", "run", "kognitos"] and f"--seed {seed}" in shlex.join(rerun)
    options, _ = run_options(build_parser().parse_args(rerun[1:]))
    assert options == RunOptions(**QUICK, seed=seed)  # type: ignore[arg-type]
    again = write_results(run(options), tmp_path)
    assert again["seed"] == seed
    assert again["summary"]["cases"] == unseeded["summary"]["cases"]
    assert [op["cases"] for op in again["apis"][0]["operations"]] == [
        op["cases"] for op in unseeded["apis"][0]["operations"]
    ]


def test_a_replay_is_what_the_schema_publishes(tmp_path: Path) -> None:
    result, unattributed = replay([CASSETTES_DIR / "mocks" / "kognitos.yaml"], skip_unknown=True)
    document = write_results(result, tmp_path)
    validate(json.loads((tmp_path / "results.json").read_text()))
    assert unattributed == [] and document["seed"] is None
    assert document["options"]["command"] == "replay" and document["options"]["skip_unknown"] is True


def test_the_version_and_the_results_name_the_libraries_that_judged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    judging = {name: metadata.version(name) for name in ("schemathesis", "hypothesis", "jsonschema")}
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.splitlines() == [
        f"conformance {__version__}",
        *(f"{name} {version}" for name, version in judging.items()),
    ]
    result, _ = replay([CASSETTES_DIR / "mocks" / "kognitos.yaml"])
    write_results(result, tmp_path / "tonight")
    tonight = load_results(tmp_path / "tonight" / "results.json")
    validate(tonight)
    assert tonight["versions"] == {"conformance": __version__, **judging}
    assert merge_documents([tonight, tonight])["versions"] == tonight["versions"]
    # a night written before versions were recorded is still read, merged and rendered
    older = {key: value for key, value in tonight.items() if key != "versions"}
    (tmp_path / "older.json").write_text(json.dumps(older))
    assert load_results(tmp_path / "older.json") == older
    assert "versions" not in merge_documents([older, tonight])
    assert main(["report", str(tmp_path / "older.json"), "--out", str(tmp_path / "report")]) == 0


def test_recorded_options_hold_every_option_and_no_credential() -> None:
    options = RunOptions(
        apis=["robocorp"],
        base_url="https://vendor.test/api",
        token="tok-3141592653",
        seed=5,
        headers=(("X-Tenant-Token", "hdr-2718281828"), ("X-Trace", "night")),
        include_operations=("listRuns",),
        per_api={"robocorp": {"headers": (("Authorization", "Bearer per-api-1618"),)}},
        tls_verify=False,
    )
    recorded = recorded_options(options)
    text = json.dumps(recorded)
    for secret in ("3141592653", "2718281828", "1618"):
        assert secret not in text
    assert recorded["token"] == "[REDACTED]"
    assert recorded["headers"] == [["X-Tenant-Token", "[REDACTED]"], ["X-Trace", "night"]]
    assert set(recorded) >= {field for field in vars(RunOptions()) if not field.startswith("_")}
    rerun = shlex.split(recorded["rerun"])
    parsed, _ = run_options(build_parser().parse_args(rerun[1:]))
    # the API's own section is written out: its headers are the ones the night sent
    expected = replace(options, token=None, per_api={}, headers=(("Authorization", "[REDACTED]"),))
    assert parsed == expected


def test_every_judged_response_counts_once_by_its_worst_finding(unseeded: dict[str, Any]) -> None:
    """The score's stacked bar: the outcomes add up to the cases, and the score is their part
    without new drift."""
    for api in unseeded["apis"]:
        responses = api["responses"]
        assert list(responses) == ["conforming", "known", "convention", "assumption", "additive", "breaking"]
        assert sum(responses.values()) == api["cases"] > 0
        drifted = responses["additive"] + responses["breaking"]
        assert api["score"] == round(100 * (api["cases"] - drifted) / api["cases"], 1)
