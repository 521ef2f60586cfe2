"""Replay of the committed cassettes judges them as a run would, offline."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.cassettes.documented import PAGES, Example, cite
from conformance.cassettes.record import record
from conformance.cassettes.replay import replay
from conformance.cli.main import main
from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.engine.caller import MOCK_POLLING
from conformance.redact import Redactor

APIS = ("solvexia", "robocorp", "kognitos", "automation_runs")


def test_mock_cassettes_cover_every_operation_and_replay_without_drift(mock_cassettes: Path) -> None:
    result, unattributed = replay([mock_cassettes])
    assert not unattributed
    assert {api.api for api in result.results} == set(APIS)
    for api in result.results:
        assert sorted(api.covered) == sorted(load_spec(api.api).operations), api.api
        assert api.counts()["new"] == 0 and not api.errors, api.api
    assert result.exit_code == 0


@pytest.mark.parametrize("api", APIS)
def test_recording_suite_replays_in_record_mode_none_without_network(mock_cassettes: Path, api: str) -> None:
    """CI mode: the pytest-recording suite runs against the committed cassette, network blocked."""
    recorded = parse_document(mock_cassettes / f"{api}.yaml")["interactions"][0]["request"]["uri"]
    base_url = recorded[: recorded.index(load_spec(api).base_path) + len(load_spec(api).base_path)]
    outcome = record(
        api, base_url, None, mock_cassettes, record_mode="none", polling=MOCK_POLLING, echo=lambda _: None
    )
    assert outcome.failures == []


def test_documented_cassettes_hit_every_traffic_observable_catalogue_entry(
    documented_cassettes: Path,
) -> None:
    result, _ = replay([documented_cassettes])
    hit = {finding.quirk for finding in result.findings if finding.quirk}
    observable = {quirk.id for api in APIS for quirk in load_catalogue(api).quirks if quirk.observable}
    assert hit == observable
    assert hit == {
        *(f"SX-{n:03}" for n in range(1, 12)),
        "KG-001",
        "KG-004",
        # AR-005 (step status "string") and AR-015 (events as application/json null) are no
        # deviations since the spec accepts what the page documents: a plain string, JSON null.
        "AR-009",
        "AR-011",
        "AR-010",
    }


def test_documented_solvexia_examples_replay_with_no_new_drift(documented_cassettes: Path) -> None:
    result, _ = replay([documented_cassettes / "solvexia.yaml"])
    assert result.results[0].counts()["new"] == 0 and result.exit_code == 0


@pytest.mark.parametrize("api", ["automation_runs", "kognitos"])
def test_documented_examples_replay_with_no_new_drift(documented_cassettes: Path, api: str) -> None:
    result, _ = replay([documented_cassettes / f"{api}.yaml"])
    assert result.results[0].counts()["new"] == 0


def test_every_documented_interaction_cites_a_public_page_and_section(documented_cassettes: Path) -> None:
    """``<url> § <section>``, the URL one of the catalogue's documents of that API."""
    for path in documented_cassettes.glob("*.yaml"):
        urls = {document.url for document in load_catalogue(path.stem).documents.values()}
        for interaction in parse_document(path)["interactions"]:
            (source,) = interaction["request"]["headers"]["X-Conformance-Source"]
            url, _, section = source.partition(" § ")
            assert url in urls and url.startswith("https://") and section, source


def test_every_page_the_builder_reads_is_a_catalogue_document() -> None:
    for page, (api, key) in PAGES.items():
        assert cite(page, "S").startswith(load_catalogue(api).documents[key].url + " § "), page


def test_a_documented_token_request_loses_its_sample_secret_wherever_it_shows() -> None:
    """The builder learns a documented request body's ``client_secret`` (a sample) before writing."""
    body = json.dumps({"client_id": "DDF-AAFB-0001-CAFE1234", "client_secret": "CAFE1234"})
    example = Example(
        "solvexia",
        cite("solvexia-schemas/authentication-oauth2.0.md", "Client Credentials Flow"),
        "POST",
        "https://app.solvexia.com/oauth/token",
        200,
        {"access_token": "sample-access", "token_type": "Bearer"},
        {"Content-Type": "application/json"},
        body,
    )
    interaction = example.interaction(Redactor())
    written = json.dumps(interaction)
    assert "CAFE1234" not in written and "sample-access" not in written
    assert interaction["request"]["headers"]["X-Conformance-Source"] == [example.source]


def test_committed_cassettes_hold_no_documented_credential() -> None:
    root = Path(__file__).resolve().parents[2] / "cassettes"
    text = "".join(path.read_text() for path in root.rglob("*.yaml"))
    for secret in (
        "syPHeMY5H--kdRtfpoXTgYFF7LHgVOhIjOQ5QkIvSD68VZvc2_uAew",
        "B5AD78878821",
        "mock-recording-token",
    ):
        assert secret not in text


def test_replay_command_writes_the_run_reports(mock_cassettes: Path, tmp_path: Path) -> None:
    assert main(["replay", str(mock_cassettes / "kognitos.yaml"), "--report-dir", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["apis"][0]["api"] == "kognitos" and document["summary"]["new"] == 0
    assert (tmp_path / "junit.xml").exists()


def test_api_is_inferred_from_vendor_hosts_and_forced_by_flag(documented_cassettes: Path) -> None:
    result, _ = replay([documented_cassettes / "kognitos.yaml"], "kognitos")
    assert [api.api for api in result.results] == ["kognitos"]
    assert result.results[0].base_url == "https://rest-api.app.kognitos.com/v2"


def test_skip_unknown_counts_calls_to_other_services_instead_of_stopping(
    mock_cassettes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A team's cassette records other services too: with --skip-unknown they are counted as
    skipped and the vendor's calls are judged; without it they are errors (exit 2)."""
    document = parse_document(mock_cassettes / "kognitos.yaml")
    foreign = []
    for uri in ("https://billing.example.test/v1/invoices", "http://127.0.0.1:9/internal/health"):
        interaction = copy.deepcopy(document["interactions"][0])
        interaction["request"]["uri"] = uri
        foreign.append(interaction)
    team = tmp_path / "team.yaml"
    write_cassette(team, [*foreign, *document["interactions"]])

    assert main(["replay", str(team), "--report-dir", str(tmp_path / "strict")]) == 2
    assert "unknown host 'billing.example.test'" in capsys.readouterr().err

    assert main(["replay", str(team), "--skip-unknown", "--report-dir", str(tmp_path / "skip")]) == 0
    out = capsys.readouterr().out
    assert "skipped 2 recorded calls outside the contracts" in out
    results = json.loads((tmp_path / "skip" / "results.json").read_text())
    assert results["summary"]["skipped"] == 2 and results["summary"]["complete"] is True
    assert results["apis"][0]["api"] == "kognitos" and results["apis"][0]["cases"] == len(
        document["interactions"]
    )
