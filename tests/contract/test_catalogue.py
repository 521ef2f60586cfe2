"""Catalogue parsing and the exact-match rule that makes a deviation ``known``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from conformance.contract.catalogue import load_catalogue, load_catalogue_file, parse_catalogue
from conformance.contract.specs import load_spec
from conformance.errors import CatalogueError
from conformance.findings import Deviation
from conformance.judge.classify import FindingSet
from conformance.kinds import kind_of
from conformance.vendors.registry import APIS

ENTRY = {
    "id": "SX-901",
    "kind": "field-name-alias",
    "summary": "s",
    "operations": ["cancelProcessRun"],
    "locations": ["/runDurationInSeconds"],
    "contract": "runDurationInSeconds",
    "documented": "runDurationInSec",
    "citations": [{"document": "runs", "section": "Cancel"}],
}
DOCUMENTS = {"runs": {"title": "Process Run APIs", "url": "https://example.com/docs/runs"}}


def catalogue(*entries: dict, documents: dict = DOCUMENTS) -> object:
    data = {"api": "solvexia", "documents": documents, "quirks": list(entries)}
    return parse_catalogue(APIS["solvexia"], data, Path("x.yaml"))


def deviation(**changes: object) -> Deviation:
    values = {
        "api": "solvexia",
        "operation": "cancelProcessRun",
        "status_code": 200,
        "location": "/runDurationInSeconds",
        "kind": "field-name-alias",
        "expected": "runDurationInSeconds",
        "observed": "runDurationInSec",
    }
    return Deviation(**{**values, **changes})


def test_only_an_exact_match_is_known() -> None:
    cat = catalogue(ENTRY)
    assert cat.match(deviation()).id == "SX-901"
    assert cat.match(deviation(observed="runDurationSec")) is None
    assert cat.match(deviation(operation="startProcessRun")) is None
    assert cat.match(deviation(location="/duration")) is None
    assert cat.match(deviation(kind="missing-field")) is None


def test_timestamps_match_by_shape_so_another_format_is_new() -> None:
    cat = catalogue(
        {
            **ENTRY,
            "kind": "timestamp-without-offset",
            "contract": "date-time",
            "documented": "2020-06-15T02:24:14.2700000",
        }
    )
    same_shape = deviation(
        kind="timestamp-without-offset", expected="date-time", observed="2026-11-24T07:01:09.1234567"
    )
    other_shape = deviation(
        kind="timestamp-without-offset", expected="date-time", observed="2026-11-24T07:01:09"
    )
    assert cat.match(same_shape) is not None
    assert cat.match(other_shape) is None


def test_identical_deviations_merge_with_a_count_and_the_first_request() -> None:
    findings = FindingSet(catalogue(ENTRY))
    findings.add(deviation(), "curl first")
    findings.add(deviation(), "curl second")
    findings.add(deviation(observed="runDuration"), "curl third")
    merged = {f.observed: f for f in findings}
    assert merged["runDurationInSec"].count == 2
    assert merged["runDurationInSec"].request == "curl first"
    assert merged["runDurationInSec"].classification == "known"
    assert merged["runDurationInSec"].doc == "Process Run APIs § Cancel"
    assert merged["runDurationInSec"].quirk_summary == "s"
    assert merged["runDurationInSec"].citations == [
        {"title": "Process Run APIs", "url": "https://example.com/docs/runs", "section": "Cancel"}
    ]
    assert merged["runDuration"].classification == "new"
    assert merged["runDuration"].quirk is None


def test_each_finding_cites_what_it_rests_on_unless_no_document_states_it() -> None:
    """New drift cites the section that documents its operation, a convention its public text, a
    known finding its entry's pages; an assumption none (reports link the spec's statement)."""
    documents = {"runs": {**DOCUMENTS["runs"], "operations": {"cancelProcessRun": "Cancel a process run"}}}
    findings = FindingSet(catalogue(ENTRY, documents=documents))
    for changes in (
        {},
        {"observed": "runDuration"},
        {"operation": "getProcessRun", "observed": "runDuration"},
        {"observed": "runTime", "assumption": "the page shows no answer"},
        {"kind": "unsupported_method", "location": "status", "expected": 405, "observed": 200},
    ):
        findings.add(deviation(**changes))
    cited = {(f.classification, f.operation): [c["section"] for c in f.citations] for f in findings}
    assert cited == {
        ("known", "cancelProcessRun"): ["Cancel"],
        ("new", "cancelProcessRun"): ["Cancel a process run"],
        ("new", "getProcessRun"): [],  # a page that documents no such operation
        ("assumption", "cancelProcessRun"): [],
        ("convention", "cancelProcessRun"): ["15.5.6 405 Method Not Allowed"],
    }
    convention = next(f for f in findings if f.classification == "convention")
    assert convention.citations[0]["url"] == "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.6"


@pytest.mark.parametrize("api", list(APIS))
def test_every_operation_of_a_bundled_spec_has_the_section_that_documents_it(api: str) -> None:
    """So every new finding links the place in the vendor's pages it contradicts."""
    cat = load_catalogue(api)
    operations = set(load_spec(api).operations)
    for key, page in cat.documents.items():
        assert set(page.operations) <= operations, f"{api} documents/{key} names an unknown operation"
    assert {operation for operation in operations if not cat.sections(operation)} == set()


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        ({**ENTRY, "id": "bad"}, "quirks/0/id"),
        ({**ENTRY, "kind": "typo"}, "quirks/0/kind"),
        ({k: v for k, v in ENTRY.items() if k != "citations"}, "'citations' is a required property"),
    ],
)
def test_a_malformed_entry_names_the_file_and_the_entry(broken: dict, fragment: str) -> None:
    with pytest.raises(CatalogueError, match="malformed catalogue") as raised:
        catalogue(broken)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("documents", "fragment"),
    [
        ({"runs": {"title": "t", "url": "http://example.com/runs"}}, "documents/runs/url"),
        ({"runs": {"title": "t", "url": "javascript:alert(1)"}}, "documents/runs/url"),
        ({"runs": {"title": "t", "url": "../shared/seeds/x.md"}}, "documents/runs/url"),
        ({"pages": {"title": "t", "url": "https://example.com/"}}, "SX-901 cites 'runs', which is not under"),
    ],
    ids=["plain-http", "script", "local-path", "unknown-document"],
)
def test_a_citation_must_name_a_public_https_page(documents: dict, fragment: str) -> None:
    with pytest.raises(CatalogueError, match=r"x\.yaml") as raised:
        catalogue(ENTRY, documents=documents)
    assert fragment in str(raised.value)


def test_duplicate_ids_and_invalid_yaml_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="duplicate quirk id SX-901"):
        catalogue(ENTRY, ENTRY)
    broken = tmp_path / "solvexia.yaml"
    broken.write_text("api: solvexia\nquirks: [\n")
    with pytest.raises(CatalogueError, match=r"solvexia\.yaml: invalid YAML \(line"):
        load_catalogue_file(APIS["solvexia"], broken)


@pytest.mark.parametrize("api", list(APIS))
def test_bundled_catalogues_point_at_real_operations_and_public_pages(api: str) -> None:
    cat = load_catalogue(api)
    spec = load_spec(api)
    assert cat.quirks, f"{api} catalogue is empty"
    for quirk in cat.quirks:
        assert set(quirk.operations) <= set(spec.operations), quirk.id
        if kind_of(quirk.kind).observable:
            assert quirk.operations and quirk.locations, (
                f"{quirk.id} can be seen at run time but says nowhere"
            )
        assert quirk.citations, f"{quirk.id} cites nothing"
        for citation in quirk.citations:
            parts = urlsplit(citation.url)
            assert parts.scheme == "https" and parts.netloc and parts.path, f"{quirk.id}: {citation.url}"
            assert citation.title and citation.section, quirk.id


def test_bundled_catalogue_files_are_plain_yaml() -> None:
    for api in APIS.values():
        assert yaml.safe_load(api.quirks_path.read_text())["api"] == api.name
