"""One fail policy and one identity of a finding: every place that says whether a run failed
(the exit code, the console, the job summary, the report, JUnit, a merge, ``compare``) asks one
``FailPolicy``, and ``compare``, ``merge`` and ``diff`` of two results files pair findings by
one rule."""

from __future__ import annotations

import copy
import html
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes.replay import replay
from conformance.cli import main as cli
from conformance.cli.console import print_summary
from conformance.cli.step_summary import cell, markdown
from conformance.findings import (
    BREAKING,
    FAIL_WORDS,
    STRICT,
    FailPolicy,
    FailWord,
    Finding,
    fail_on_usage,
    recorded_pattern,
)
from conformance.judge.resolved import QuirkCheck
from conformance.kinds import Classification, Severity
from conformance.results.compare import compare
from conformance.results.document import RESULTS_SCHEMA, results_document, write_results
from conformance.results.html.render import render_report
from conformance.results.junit import junit_document
from conformance.results.merge import merge_documents
from conformance.results.model import RunResult
from conformance.results.verdict import exit_code_of, verdict
from conformance.vendors.registry import CASSETTES_DIR

MOCK_CASSETTES = CASSETTES_DIR / "mocks"
POLICIES = ["breaking", "any", "breaking,resolved", "any,resolved", "strict"]


def one_line(capsys: pytest.CaptureFixture[str], *fragments: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("conformance: error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


# -- the policy: words, their record, their errors -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "recorded"),
    [
        ("breaking", "breaking"),
        ("any", "any"),
        ("resolved", "breaking,resolved"),
        ("resolved,any", "any,resolved"),
        (" any , resolved ", "any,resolved"),
        ("breaking,breaking", "breaking"),
    ],
)
def test_fail_on_is_read_once_and_recorded_as_before(text: str, recorded: str) -> None:
    policy = FailPolicy.parse(text)
    assert str(policy) == recorded and FailPolicy.recorded(recorded) == policy
    assert re.fullmatch(RESULTS_SCHEMA["properties"]["fail_on"]["anyOf"][0]["pattern"], recorded)
    assert policy.drift == recorded.split(",")[0] and policy.fails_resolved is ("resolved" in recorded)
    assert not policy.strict and FailPolicy.recorded("strict") is STRICT and STRICT.strict


WORDS = "breaking, any, convention, resolved, changed[:ASPECT]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "breakng",
            f"--fail-on takes {WORDS} (comma-separated), not 'breakng'",
        ),
        (
            "strict",
            f"--fail-on takes {WORDS} (comma-separated), not 'strict'",
        ),
        (
            "any,resolvd",
            f"--fail-on takes {WORDS} (comma-separated), not 'any,resolvd'",
        ),
        (
            ",",
            f"--fail-on takes {WORDS} (comma-separated), not ','",
        ),
        ("any,breaking", "--fail-on takes one of breaking and any, not both"),
    ],
)
def test_a_misspelled_fail_on_is_one_line_and_exit_2(
    text: str,
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cli.main(["run", "kognitos", "--fail-on", text]) == 2
    one_line(capsys, message)
    monkeypatch.chdir(tmp_path)
    Path("conformance.toml").write_text(f"[run]\nfail-on = {json.dumps(text)}\n")
    assert cli.main(["run", "kognitos"]) == 2
    one_line(capsys, message)


#: The words a change of observed behaviour fails on, as ``fail_on`` records them.
CHANGED = "(,changed)?" + "".join(
    f"(,changed:{aspect})?" for aspect in ("values", "shapes", "presence", "types", "statuses", "latency")
)


def test_a_policy_is_its_words_in_the_tables_order() -> None:
    for words in [("resolved",), ("any", "breaking"), ("resolved", "any"), ("strict", "any"), ("fixed",), ()]:
        with pytest.raises(ValueError, match="not a fail policy"):
            FailPolicy(words)
    assert FailPolicy() == BREAKING == FailPolicy.parse("breaking") and str(STRICT) == "strict"
    assert (
        fail_on_usage() == "breaking|any[,convention][,resolved][,changed[:ASPECT]]"
        and recorded_pattern() == f"^(breaking|any)(,convention)?(,resolved)?{CHANGED}$"
    )


def test_a_new_word_is_one_row_of_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the next words (a class of findings that fails only when named) take: one row."""
    monkeypatch.setitem(FAIL_WORDS, "assumed", FailWord(fails=frozenset({"assumption"})))
    policy = FailPolicy.parse("assumed")
    assert str(policy) == "breaking,assumed" and str(FailPolicy.parse("assumed,resolved,any")) == (
        "any,resolved,assumed"
    )
    assumed, known = finding(Classification.ASSUMPTION), finding(Classification.KNOWN)
    assert policy.fails(assumed) and not policy.fails(known) and not BREAKING.fails(assumed)
    assert policy.failing({"assumption": 2, "breaking": 1, "new": 1, "known": 5}) == 3
    assert fail_on_usage() == "breaking|any[,convention][,resolved][,changed[:ASPECT]][,assumed]"
    assert recorded_pattern() == f"^(breaking|any)(,convention)?(,resolved)?{CHANGED}(,assumed)?$"


def test_a_convention_fails_a_night_only_when_asked_for() -> None:
    convention = finding(Classification.CONVENTION)
    assert not BREAKING.fails(convention) and not FailPolicy.parse("any").fails(convention)
    asked = FailPolicy.parse("convention")
    assert str(asked) == "breaking,convention" and asked.fails(convention)
    assert not asked.fails(finding(Classification.ASSUMPTION))
    assert asked.failing({"convention": 2, "assumption": 3, "known": 1}) == 2


def finding(classification: Classification, severity: Severity = Severity.BREAKING) -> Finding:
    return Finding(
        "kognitos", "getRun", 200, "/x", "extra-field", None, 1, classification, severity, None, None
    )


@pytest.mark.parametrize("text", POLICIES)
def test_a_finding_fails_as_the_counts_say(text: str) -> None:
    """``fails`` (one finding) and ``failing`` (counts of a document) are one rule."""
    policy = FailPolicy.recorded(text)
    for found in [
        finding(Classification.KNOWN),
        finding(Classification.ASSUMPTION),
        finding(Classification.NEW, Severity.ADDITIVE),
        finding(Classification.NEW, Severity.BREAKING),
    ]:
        counts = {name: 1 for name in found.classes}
        assert policy.fails(found) is (policy.failing(counts) == 1), (text, found.classes)
    assert (
        policy.failing({"known": 1, "assumption": 2, "new": 4, "breaking": 3, "additive": 1})
        == {
            "breaking": 3,
            "any": 4,
            "strict": 7,
        }[policy.drift]
    )


# -- every place that says whether a run failed agrees -----------------------------------------------


@pytest.fixture(scope="module")
def judged() -> RunResult:
    result, _ = replay([MOCK_CASSETTES / "kognitos.yaml", MOCK_CASSETTES / "automation_runs.yaml"])
    assert result.findings and all(f.classification is Classification.KNOWN for f in result.findings)
    return result


def variant(result: RunResult, name: str) -> RunResult:
    """``result`` with exactly the findings, resolved quirks and errors ``name`` says."""
    result = copy.deepcopy(result)
    first = result.results[0]
    template = first.findings[0]
    kept = {"known": [template]}.get(name, [])
    extra = {
        "assumption": [replace(template, classification=Classification.ASSUMPTION, quirk=None)],
        "additive": [
            replace(template, classification=Classification.NEW, severity=Severity.ADDITIVE, quirk=None)
        ],
        "breaking": [
            replace(template, classification=Classification.NEW, severity=Severity.BREAKING, quirk=None)
        ],
    }
    for api in result.results:
        api.findings = []
    first.findings = kept + extra.get(name.split("+")[0], [])
    if name.endswith("resolved"):
        first.resolved = [
            QuirkCheck("XX-001", "a quirk", "the vendor's page", (template.operation,), responses=3)
        ]
    if name == "errors":
        first.errors = ["the server went away"]
    return replace(result, complete=name != "incomplete")


#: The exit code of each variant under each policy of ``POLICIES``.
EXPECTED = {
    "clean": (0, 0, 0, 0, 0),
    "known": (0, 0, 0, 0, 1),
    "assumption": (0, 0, 0, 0, 1),
    "additive": (0, 1, 0, 1, 1),
    "breaking": (1, 1, 1, 1, 1),
    "resolved": (0, 0, 1, 1, 0),
    "additive+resolved": (0, 1, 1, 1, 1),
    "errors": (2, 2, 2, 2, 2),
    "incomplete": (2, 2, 2, 2, 2),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_every_place_says_the_same_verdict(
    judged: RunResult, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for text, expected in zip(POLICIES, EXPECTED[name], strict=True):
        result = replace(variant(judged, name), fail_on=FailPolicy.recorded(text))
        document = results_document(result)
        said = verdict(document)
        assert (result.exit_code, document["exit_code"], exit_code_of(document), said.exit_code) == (
            expected,
        ) * 4, (name, text)
        assert merge_documents([document])["exit_code"] == expected
        assert merge_documents([document, copy.deepcopy(document)])["exit_code"] == expected
        print_summary(document, "reports")
        console = capsys.readouterr().out.strip().splitlines()[-1]
        assert console.startswith(f"{said.line}: "), (name, text, console)
        assert markdown(document, "reports").splitlines()[0] == f"### conformance: {cell(said.line)}"
        page = render_report(document, [])
        banner = re.search(r'data-verdict="(\w+)"[^>]*>.*?<h1>(.*?)</h1>', page, re.S)
        assert banner and (banner[1], html.unescape(banner[2])) == (said.state, said.title)
        assert said.state == ("clean", "drift", "error")[expected]
        junit = ET.fromstring(junit_document(document))
        if expected != 2:
            assert (int(junit.get("failures", "0")) > 0) == (expected == 1), (name, text)
        baseline = results_document(replace(variant(judged, "clean"), fail_on=result.fail_on))
        drift = any(result.fail_on.fails(f) for f in result.findings)
        assert bool(compare(baseline, document).failing) is drift, (name, text)


# -- one identity of a finding --------------------------------------------------------------------


def two_targets(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (one API) checked at two targets, merged: ``kognitos @ ...`` twice."""
    staging = copy.deepcopy(document)
    for api in staging["apis"]:
        api["base_url"] = "https://staging.example/v2"
    return merge_documents([document, staging])


def test_diff_and_compare_agree_on_what_appeared_and_disappeared(
    judged: RunResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kognitos = replace(judged, results=[api for api in judged.results if api.api == "kognitos"])
    old = two_targets(write_results(kognitos, tmp_path / "one"))
    first, second = (api["target"] for api in old["apis"])
    assert first != second and {api["api"] for api in old["apis"]} == {"kognitos"}
    sample = next(f for f in old["findings"] if f["target"] == first)
    grouped = {
        **sample,
        "location": "/items/*/extra",
        "group": {"distinct": 7, "values": ["a", "b"]},
        "observed": ["a", "b"],
        "count": 7,
    }
    old["findings"] += [grouped, {**grouped, "target": second}]
    new = copy.deepcopy(old)
    new["finished_at"] = "2027-01-02T03:17:00+00:00"
    for f in new["findings"]:
        if f.get("group"):  # the same groups, other sampled values: no change
            f.update(observed=["c", "d"], group={"distinct": 9, "values": ["c", "d"]})
    gone = next(f for f in new["findings"] if f["target"] == first and not f.get("group"))
    new["findings"].remove(gone)  # still seen at the other target: a change of this one alone
    appeared = {**sample, "target": second, "location": "/brandNew", "classification": "new", "quirk": None}
    new["findings"].append(appeared)
    paths = []
    for name, document in (("old", old), ("new", new)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))

    assert cli.main(["compare", *paths, "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    by_compare = {
        (change["change"], change["target"], change["operation"], change["location"], change["kind"])
        for change in compared["findings"]
        if change["change"] in ("appeared", "disappeared")
    }
    cli.main(["diff", *paths, "--report-dir", str(tmp_path / "diff")])
    changes = json.loads((tmp_path / "diff" / "diff.json").read_text())["changes"]
    words = {"finding-appeared": "appeared", "finding-vanished": "disappeared"}
    by_diff = {
        (words[c["what"]], c["api"], c["operation"], c["location"], c["message"].split(":", 1)[0])
        for c in changes
    }
    assert (
        by_diff
        == by_compare
        == {
            ("disappeared", first, gone["operation"], gone["location"], gone["kind"]),
            ("appeared", second, appeared["operation"], "/brandNew", appeared["kind"]),
        }
    )
    assert {change["change"] for change in compared["findings"]} == {"appeared", "disappeared"}


def test_merging_a_merged_report_again_keeps_each_finding_once(judged: RunResult, tmp_path: Path) -> None:
    kognitos = replace(judged, results=[api for api in judged.results if api.api == "kognitos"])
    merged = two_targets(write_results(kognitos, tmp_path))
    again = merge_documents([merged, copy.deepcopy(merged)])
    assert len(again["findings"]) == len(merged["findings"])
    assert [f["count"] for f in again["findings"]] == [2 * f["count"] for f in merged["findings"]]
