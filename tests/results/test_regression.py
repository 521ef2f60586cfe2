"""The nightly as an account of change (issue 14): quirks the vendor fixed, what changed since
last night, and one report made whole from many results files and shards."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from conformance.cassettes.replay import replay
from conformance.cli import main as cli
from conformance.cli.arguments import build_parser
from conformance.cli.running import run_options
from conformance.contract.specs import load_spec
from conformance.engine.options import RunOptions
from conformance.engine.runner import run, selected_operations
from conformance.engine.shard import Shard
from conformance.findings import FailPolicy
from conformance.judge.resolved import NOT_SELECTED, location_seen
from conformance.mocks.base import FIXED_ENV
from conformance.results.compare import compare
from conformance.results.document import RESULTS_SCHEMA, results_document, write_results
from conformance.results.merge import merge_documents
from conformance.vendors.registry import APIS, CASSETTES_DIR

QUICK = {"phases": ("examples",), "max_examples": 1, "seed": 3}
MOCK_CASSETTES = CASSETTES_DIR / "mocks"


def valid(document: dict[str, Any]) -> dict[str, Any]:
    Draft202012Validator(RESULTS_SCHEMA).validate(json.loads(json.dumps(document)))
    return document


def one_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("conformance: error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


# -- 1. quirks the vendor fixed ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixed_kg001(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Every faithful mock, Kognitos answering as if it had fixed KG-001."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(FIXED_ENV, "KG-001")
        return run(RunOptions(**QUICK))  # type: ignore[arg-type]


def test_a_faithful_mock_with_one_quirk_switched_off_gives_exactly_that_quirk_as_resolved(
    fixed_kg001: Any, tmp_path: Path
) -> None:
    resolved = {(api.api, quirk.quirk) for api in fixed_kg001.results for quirk in api.resolved}
    assert resolved == {("kognitos", "KG-001")}
    document = valid(write_results(fixed_kg001, tmp_path))
    [kognitos] = [api for api in document["apis"] if api["api"] == "kognitos"]
    [entry] = kognitos["resolved_quirks"]
    assert entry["quirk"] == "KG-001" and entry["responses"] > 0 and entry["reason"] is None
    assert entry["citation"].startswith("Kognitos REST API v2: Runs § Get Run") and entry["operations"] == [
        "getRun",
        "listRuns",
    ]
    assert document["summary"]["resolved"] == 1 and document["exit_code"] == 0  # default: breaking
    assert replace(fixed_kg001, fail_on=FailPolicy.parse("breaking,resolved")).exit_code == 1
    junit = ET.fromstring((tmp_path / "junit.xml").read_text())
    [case] = [case for case in junit.iter("testcase") if case.get("name") == "KG-001"]
    assert case.find("failure") is None and "resolved?" in (case.findtext("system-out") or "")


def test_a_quirk_on_an_unexercised_operation_is_not_checked(tmp_path: Path) -> None:
    options = RunOptions(apis=["kognitos"], exclude_operations=("getRun", "listRuns"), **QUICK)  # type: ignore[arg-type]
    [api] = run(options).results
    assert api.resolved == []
    assert [(quirk.quirk, quirk.reason) for quirk in api.unchecked] == [("KG-001", NOT_SELECTED)]


def test_the_console_report_and_fail_on_show_resolved_quirks(
    fixed_kg001: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_results(replace(fixed_kg001, fail_on=FailPolicy.parse("resolved")), tmp_path)
    assert cli.main(["report", str(tmp_path / "results.json")]) == 0
    page = (tmp_path / "index.html").read_text()
    assert 'data-resolved="KG-001"' in page and "Catalogued quirks resolved? in kognitos" in page
    from conformance.cli.console import print_summary

    print_summary(json.loads((tmp_path / "results.json").read_text()), str(tmp_path))
    out = capsys.readouterr().out
    assert "resolved? kognitos KG-001: not seen in" in out and "1 catalogued quirks resolved?" in out


@pytest.mark.parametrize(
    ("kind", "location", "body", "seen"),
    [
        ("timestamp-without-offset", "/created_at", {"created_at": "2026-01-01T00:00:00Z"}, True),
        ("timestamp-without-offset", "/created_at", {"created_at": None}, False),  # null shows nothing
        ("timestamp-without-offset", "/items/*/created_at", {"items": [{}, {"created_at": "x"}]}, True),
        ("empty-string-for-null", "/dateStarted", {"dateStarted": None}, True),
        ("field-name-alias", "/runDurationInSeconds", {"runDurationInSec": 3}, False),
        ("extra-field", "/*/stepOrder", [{"orderedName": "a"}], True),  # its object, without it
        ("extra-field", "/*/stepOrder", [], False),
        ("undocumented-status", "status", None, True),
    ],
)
def test_a_place_is_seen_as_its_kind_asks(kind: str, location: str, body: Any, seen: bool) -> None:
    assert location_seen(kind, location, body) is seen


def test_fail_on_takes_resolved_and_refuses_nonsense_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    options, _ = run_options(build_parser().parse_args(["run", "--fail-on", "resolved"]))
    assert options.fail_on == FailPolicy(("breaking", "resolved"))
    assert str(options.fail_on) == "breaking,resolved"
    for bad in ("fixed", "breaking,any", ""):
        assert cli.main(["run", "kognitos", "--fail-on", bad]) == 2
        one_line(capsys, "--fail-on")


# -- 2. what changed since last night ------------------------------------------------------------------


@pytest.fixture(scope="module")
def last_night() -> dict[str, Any]:
    result, _ = replay([MOCK_CASSETTES / "kognitos.yaml", MOCK_CASSETTES / "automation_runs.yaml"])
    return valid(results_document(result))


def tonight_from(old: dict[str, Any]) -> dict[str, Any]:
    """Last night with known differences: one finding gone, one new breaking finding (its
    operation newly failing), one count changed, one finding re-classed, one quirk resolved."""
    new = copy.deepcopy(old)
    new["finished_at"] = "2027-01-02T03:17:00+00:00"
    by_op = {(f["api"], f["operation"], f["location"]): f for f in new["findings"]}
    gone = by_op[("automation_runs", "cancelAutomationRun", "/error")]
    new["findings"].remove(gone)
    by_op[("automation_runs", "getAutomationRun", "/error")]["count"] += 5
    reclassed = by_op[("automation_runs", "retryAutomationRun", "/error")]
    reclassed.update(classification="new", severity="breaking", quirk=None, doc=None)
    appeared = {**by_op[("kognitos", "getRun", "/created_at")], "location": "/name", "kind": "missing-field"}
    appeared.update(
        classification="new", severity="breaking", quirk=None, doc=None, expected="name", observed=None
    )
    new["findings"].append(appeared)
    kognitos = next(api for api in new["apis"] if api["api"] == "kognitos")
    next(op for op in kognitos["operations"] if op["operation"] == "getRun").update(new=1, breaking=1)
    kognitos["resolved_quirks"] = [
        {
            "quirk": "KG-009",
            "summary": "s",
            "citation": "c",
            "operations": ["getRun"],
            "responses": 4,
            "reason": None,
        }
    ]
    return valid(new)


def test_compare_of_two_results_with_known_differences_gives_exactly_those(
    last_night: dict[str, Any],
) -> None:
    comparison = compare(last_night, tonight_from(last_night))
    changes = {
        (c.change, c.target, c.operation, c.location, c.old_class, c.new_class) for c in comparison.findings
    }
    assert changes == {
        ("disappeared", "automation_runs", "cancelAutomationRun", "/error", "known", None),
        ("count", "automation_runs", "getAutomationRun", "/error", "known", "known"),
        ("class", "automation_runs", "retryAutomationRun", "/error", "known", "new breaking"),
        ("appeared", "kognitos", "getRun", "/name", None, "new breaking"),
    }
    assert [(q.target, q.quirk, q.responses) for q in comparison.resolved] == [("kognitos", "KG-009", 4)]
    assert [(o.target, o.operation) for o in comparison.failing] == [("kognitos", "getRun")]
    assert comparison.recovering == []
    back = compare(tonight_from(last_night), last_night)  # the other way round: it recovers
    assert [(o.target, o.operation) for o in back.recovering] == [("kognitos", "getRun")]
    assert compare(last_night, last_night).empty


def test_compare_prints_and_writes_json_and_the_report_opens_with_since_last_night(
    last_night: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = tmp_path / "old.json", tmp_path / "new" / "results.json"
    new.parent.mkdir()
    old.write_text(json.dumps(last_night))
    new.write_text(json.dumps(tonight_from(last_night)))
    assert cli.main(["compare", str(old), str(new), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["counts"] == {
        "appeared": 1, "disappeared": 1, "changed": 2, "resolved": 1, "failing": 1, "recovering": 0,
        "behaviour": 0,
    }  # fmt: skip
    assert cli.main(["compare", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "appeared: kognitos getRun /name missing-field" in out and "newly failing: kognitos getRun" in out
    assert cli.main(["report", str(new), "--baseline", str(old)]) == 0
    page = (new.parent / "index.html").read_text()
    assert page.index("Since last night") < page.index("APIs</h2>")
    assert "data-since-failing" in page and 'data-since-change="appeared"' in page


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["compare", "missing.json", "missing.json"], "no such results file"),
        (["compare", "garbage.json", "garbage.json"], "invalid JSON"),
        (["report", "garbage.json", "garbage.json", "--out", "merged"], "invalid JSON"),
        (["report", "a/results.json", "a/results.json"], "needs --out DIR"),
    ],
)
def test_bad_results_files_are_one_line(
    argv: list[str],
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "garbage.json").write_text("{not json")
    assert cli.main(argv) == 2
    one_line(capsys, fragment)


# -- 3. one report across shards, vendors and targets ------------------------------------------------


def _replayed(*names: str) -> dict[str, Any]:
    result, unattributed = replay([MOCK_CASSETTES / f"{name}.yaml" for name in names])
    assert unattributed == []
    return results_document(result)


def _totals(document: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "cases",
        "checks",
        "known",
        "assumption",
        "new",
        "breaking",
        "additive",
        "score",
        "operations_total",
    )
    return {api["api"]: {key: api[key] for key in keys} for api in document["apis"]}


def test_merge_of_four_single_api_results_equals_one_four_api_run(tmp_path: Path) -> None:
    singles = [_replayed(name) for name in APIS]
    whole = _replayed(*APIS)
    merged = valid(merge_documents(singles))
    assert _totals(merged) == _totals(whole)
    summary_keys = ("cases", "checks", "known", "assumption", "new", "breaking", "additive", "errors", "apis")
    assert {k: merged["summary"][k] for k in summary_keys} == {k: whole["summary"][k] for k in summary_keys}
    assert merged["exit_code"] == whole["exit_code"]
    for index, document in enumerate(singles):
        path = tmp_path / str(index) / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps(document))
    paths = [str(tmp_path / str(index) / "results.json") for index in range(len(singles))]
    assert cli.main(["report", *paths, "--out", str(tmp_path / "merged")]) == 0
    written = valid(json.loads((tmp_path / "merged" / "results.json").read_text()))
    assert _totals(written) == _totals(whole)
    cases = {
        (c.get("classname"), c.get("name"))
        for c in ET.parse(tmp_path / "merged" / "junit.xml").iter("testcase")
    }
    from conformance.results.junit import junit_document

    assert cases == {
        (c.get("classname"), c.get("name")) for c in ET.fromstring(junit_document(whole)).iter("testcase")
    }
    history = [json.loads(line) for line in (tmp_path / "merged" / "history.jsonl").read_text().splitlines()]
    assert set(history[-1]["apis"]) == set(APIS)


def test_the_same_api_at_two_targets_stays_two_with_a_history_line_each(tmp_path: Path) -> None:
    staging, production = _replayed("kognitos"), _replayed("kognitos")
    staging["apis"][0]["base_url"] = "https://staging.example/v2"
    production["apis"][0]["base_url"] = "https://example/v2"
    merged = valid(merge_documents([staging, production]))
    targets = [api["target"] for api in merged["apis"]]
    assert targets == ["kognitos @ https://staging.example/v2", "kognitos @ https://example/v2"]
    assert {f["target"] for f in merged["findings"]} == set(targets)
    assert _totals(merge_documents([staging]))["kognitos"]["cases"] == merged["apis"][0]["cases"]
    for name, document in (("staging", staging), ("production", production)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(document))
    argv = ["report", str(tmp_path / "staging/results.json"), str(tmp_path / "production/results.json")]
    assert cli.main([*argv, "--out", str(tmp_path / "both")]) == 0
    line = json.loads((tmp_path / "both" / "history.jsonl").read_text().splitlines()[-1])
    assert sorted(line["apis"]) == sorted(targets)


def test_shards_are_stable_across_processes_and_split_every_operation_once() -> None:
    for api in APIS:
        spec = load_spec(api)
        shares = [selected_operations(spec, RunOptions(shard=Shard(i, 3))) for i in (1, 2, 3)]
        assert sorted(op for share in shares for op in share) == sorted(spec.operations)
    names = list(APIS)
    script = (
        "from conformance.engine.runner import selected_operations;"
        "from conformance.engine.options import RunOptions;"
        "from conformance.engine.shard import Shard; from conformance.contract.specs import load_spec;"
        f"print([selected_operations(load_spec(a), RunOptions(shard=Shard(1, 3))) for a in {names!r}])"
    )
    processes = [  # side by side: two interpreters, each with its own hash seed
        subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={"PYTHONHASHSEED": seed},
        )
        for seed in ("1", "2")
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert len({out for out, _ in outputs}) == 1


def test_shard_1_of_2_and_2_of_2_merged_cover_every_operation_once(tmp_path: Path) -> None:
    apis = ["kognitos", "automation_runs"]
    shards = [
        valid(write_results(run(RunOptions(apis=apis, shard=Shard(i, 2), **QUICK)), tmp_path / str(i)))  # type: ignore[arg-type]
        for i in (1, 2)
    ]
    seen = [
        (api["api"], op["operation"])
        for document in shards
        for api in document["apis"]
        for op in api["operations"]
    ]
    assert sorted(seen) == sorted((api, op) for api in apis for op in load_spec(api).operations)
    assert shards[0]["options"]["shard"] == "1/2" and "--shard 1/2" in shards[0]["options"]["rerun"]
    merged = merge_documents(shards)
    for api in merged["apis"]:
        assert api["operations_covered"] == api["operations_total"] == len(load_spec(api["api"]).operations)
    assert merged["summary"]["cases"] == sum(document["summary"]["cases"] for document in shards)
    assert merged["summary"]["new"] == 0 and merged["exit_code"] == 0


@pytest.mark.parametrize("value", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_a_bad_shard_is_one_line(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "kognitos", "--shard", value]) == 2
    one_line(capsys, "--shard")
