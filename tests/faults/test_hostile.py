"""Issue 11: every hostile server, file and option gets a finding or a one-line error, within
bounded time and memory, with valid outputs and no secret anywhere.

One section per cause. Servers are real loopback HTTP (the misbehaving front of
``server.py`` before a real Kognitos mock), files are real files, and a command whose time or
memory is measured is the real command line in a child process, timed and measured
(``hostile.conformance``); so is one only a child can run: input nested deep enough to crash an
interpreter, a spec given through the environment (this process keeps the specs it has read), a
killed run. Elsewhere the exit code, the lines printed, the files written and the secrets kept out
of them are tested, and the command runs in this process (``here``), where what a child would
also print (warnings, log records, exceptions in threads) is searched too.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import string
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.mocks import MockServer, create_mock
from conformance.results.document import RESULTS_SCHEMA
from conformance.results.history import HISTORY_FILE
from conformance.results.publish import publish_run
from conformance.vendors.registry import SPECS_DIR, SPECS_DIR_ENV

from . import server as faults
from .hostile import (
    CANARIES,
    TOKEN,
    Outcome,
    conformance,
    mock_replay_results,
    no_leak,
    one_line_error,
    strict_json,
    valid_outputs,
)
from .server import Fault, FaultServer, alive, children

MOCK_CASSETTES = SPECS_DIR.parent / "cassettes" / "mocks"
GET_RUN = r"/v2/runs/[^/]+$"
LIST_RUNS = r"/v2/runs$"
#: A run that judges getRun alone: quick, and still through every boundary (probe, configuration
#: check, schemathesis, the credential-less probe, the reports).
ONE_OPERATION = (
    "--include-operation",
    "getRun",
    "--phases",
    "examples",
    "--max-examples",
    "1",
    "--seed",
    "1",
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockServer]:
    with MockServer(create_mock("kognitos", "faithful", TOKEN).app()) as server:
        yield server


@contextmanager
def front(upstream: MockServer, *fault_list: Fault) -> Iterator[FaultServer]:
    with FaultServer(upstream.port, list(fault_list), "/v2") as server:
        yield server


def run_against(
    base_url: str,
    tmp_path: Path,
    *extra: str,
    report: str = "report",
    command: Callable[..., Outcome] = conformance,
) -> Outcome:
    """A one-operation run against ``base_url``: in a child process, timed and measured, unless
    ``command`` runs it elsewhere."""
    return command(
        "run", "kognitos", "--base-url", base_url, "--token", TOKEN, *ONE_OPERATION, *extra,
        "--report-dir", report, cwd=tmp_path,
    )  # fmt: skip


def findings(directory: Path, operation: str = "getRun") -> dict[tuple[str, Any], dict[str, Any]]:
    """The findings at ``operation``, by (kind, observed); a structured observed value as its JSON."""
    document = valid_outputs(directory)
    return {
        (
            f["kind"],
            f["observed"] if not isinstance(f["observed"], dict | list) else json.dumps(f["observed"]),
        ): f
        for f in document["findings"]
        if f["operation"] == operation
    }


def json_rewrite(change: Callable[[dict[str, Any]], None]) -> faults.Action:
    """The mock's own JSON answer, changed by ``change`` (its body re-serialised)."""

    def edit(body: bytes) -> bytes:
        document = json.loads(body)
        if isinstance(document, dict):
            change(document)
        return json.dumps(document).encode()

    return faults.rewritten(edit)


def altered_cassette(
    target: Path, change: Callable[[dict[str, Any]], None], source: str = "kognitos"
) -> Path:
    """The shipped mock cassette of ``source``, with ``change`` applied to each interaction."""
    interactions = parse_document(MOCK_CASSETTES / f"{source}.yaml")["interactions"]
    for interaction in interactions:
        change(interaction)
    write_cassette(target, interactions)
    return target


def body_of(interaction: dict[str, Any], body: bytes | str, encoding: str | None = None) -> None:
    interaction["response"]["body"]["string"] = body
    headers = interaction["response"].setdefault("headers", {})
    headers.pop("content-length", None)
    headers.pop("Content-Length", None)
    if encoding:
        headers["content-encoding"] = [encoding]


# -- 1. server and file text is never Rich markup ------------------------------------------------------


def test_markup_in_a_server_member_and_a_report_path_is_shown_as_text(
    upstream: MockServer, here: Callable[..., Outcome], tmp_path: Path
) -> None:
    def bracketed(document: dict[str, Any]) -> None:
        document["[/bold]"] = 1
        document["[red]eaten[/red]"] = 2

    with front(upstream, Fault("GET", GET_RUN, json_rewrite(bracketed))) as server:
        outcome = run_against(server.base_url, tmp_path, "--fail-on", "any", report="q[/x]", command=here)
    assert outcome.code == 1, outcome  # extra members: additive drift, failing under --fail-on any
    seen = findings(tmp_path / "q[/x]")
    assert {("extra-field", "[/bold]"), ("extra-field", "[red]eaten[/red]")} <= set(seen)
    assert "field '[/bold]' is not in the contract" in outcome.out
    assert "[red]eaten[/red]" in outcome.out and "report in q[/x]" in outcome.out
    no_leak([outcome], [tmp_path])


def test_diff_writes_its_output_then_prints_markup_as_text(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    def bracketed(interaction: dict[str, Any]) -> None:
        response = interaction["response"]
        if interaction["request"]["method"] == "GET" and response["status"]["code"] == 200:
            document = json.loads(response["body"]["string"])
            if "stage" in document:
                document["stage"] = "[/bold]"  # a closing tag no markup opened: Rich raised on it
            document["[red]eaten"] = 1  # an opening tag: Rich ate it
            body_of(interaction, json.dumps(document))

    tonight = altered_cassette(tmp_path / "tonight" / "kognitos.yaml", bracketed)
    old = MOCK_CASSETTES / "kognitos.yaml"
    outcome = here("diff", str(old), str(tonight), "--report-dir", "diff", cwd=tmp_path)
    assert outcome.code in (0, 1), outcome
    changes = strict_json(tmp_path / "diff" / "diff.json")["changes"]
    assert {"enum-value-seen", "field-appeared"} <= {change["what"] for change in changes}
    assert 'value "[/bold]"' in outcome.out and "field /[red]eaten appeared" in outcome.out
    assert "Traceback" not in outcome.printed


# -- 2. deep nesting -------------------------------------------------------------------------------------

DEEP = b"[" * 100_000 + b"]" * 100_000


def test_a_body_nested_100000_deep_is_an_invalid_json_finding(upstream: MockServer, tmp_path: Path) -> None:
    with front(upstream, Fault("GET", GET_RUN, faults.json_body(DEEP))) as server:
        outcome = run_against(server.base_url, tmp_path)
    assert outcome.code == 1, outcome
    finding = findings(tmp_path / "report")[("invalid-json", "nested deeper than 64 levels")]
    assert finding["classification"] == "new" and finding["count"] >= 2  # the engine's and the probe's
    assert "Exception in thread" not in outcome.err
    no_leak([outcome], [tmp_path])


def test_a_deep_cassette_body_is_a_finding_and_a_deep_file_one_line(tmp_path: Path) -> None:
    def deep(interaction: dict[str, Any]) -> None:
        if interaction["request"]["method"] == "GET":
            body_of(interaction, DEEP.decode())

    altered_cassette(tmp_path / "cassettes" / "kognitos.yaml", deep)
    replayed = conformance("replay", "cassettes", "--report-dir", "report", cwd=tmp_path)
    assert replayed.code == 1, replayed
    assert ("invalid-json", "nested deeper than 64 levels") in findings(tmp_path / "report", "listRuns")

    (tmp_path / "deep.yaml").write_text("interactions: " + "[" * 100_000 + "]" * 100_000 + "\n")
    compared = conformance("diff", "deep.yaml", "deep.yaml", cwd=tmp_path)
    assert compared.code == 2 and "Traceback" not in compared.printed, compared
    assert "error deep.yaml: invalid YAML (line 1): exceeded maximum nesting depth" in compared.out
    (tmp_path / "results.json").write_bytes(DEEP)
    one_line_error(conformance("report", "results.json", cwd=tmp_path), "nested deeper than 64 levels")


# -- 3. time to the response headers is bounded ---------------------------------------------------------


@pytest.mark.parametrize(
    "action", [faults.slow_headers(0.2), faults.endless_continue], ids=["a byte at a time", "100 Continue"]
)
def test_headers_that_never_complete_end_within_the_bound(
    upstream: MockServer, tmp_path: Path, action: faults.Action
) -> None:
    with front(upstream, Fault("GET", GET_RUN, action)) as server:
        outcome = run_against(
            server.base_url, tmp_path, "--request-timeout", "1", "--include-operation", "listRuns"
        )
    assert outcome.code == 1, outcome  # listRuns still judged: new drift, not "could not run"
    assert ("transport-error", "response too slow") in findings(tmp_path / "report")
    # four requests reach getRun (configuration check, examples, credential-less probe), each
    # ending within 3 x --request-timeout; the rest is the interpreter starting
    assert outcome.seconds < 45, outcome.seconds
    no_leak([outcome], [tmp_path])


def test_the_reachability_probe_and_record_end_within_the_bound(upstream: MockServer, tmp_path: Path) -> None:
    cassette = tmp_path / "cassettes" / "kognitos.yaml"
    cassette.parent.mkdir()
    shutil.copy(MOCK_CASSETTES / "kognitos.yaml", cassette)
    with front(upstream, Fault("*", ".*", faults.endless_continue)) as server:
        probed = run_against(server.base_url, tmp_path, "--request-timeout", "1")
        recorded = conformance(
            "record", "kognitos", "--base-url", server.base_url, "--out", "cassettes",
            "--request-timeout", "1", "--poll-interval", "0.05", "--lifecycle-timeout", "5",
            cwd=tmp_path, env={"KOGNITOS_API_KEY": TOKEN},
        )  # fmt: skip
    assert probed.code == 2 and probed.seconds < 20, probed
    assert "cannot reach kognitos at" in probed.out and "response too slow" in probed.out
    assert recorded.code == 2 and recorded.seconds < 60, recorded
    assert "response too slow" in recorded.err and recorded.out == ""  # one line: nothing recorded
    assert cassette.read_bytes() == (MOCK_CASSETTES / "kognitos.yaml").read_bytes()
    no_leak([probed, recorded], [tmp_path / "report"])


def test_the_reachability_probe_reads_headers_only(upstream: MockServer, tmp_path: Path) -> None:
    with front(upstream, Fault("GET", r"^/v2$", faults.endless_body)) as server:
        outcome = run_against(server.base_url, tmp_path, "--request-timeout", "2")
    assert outcome.code == 0 and outcome.seconds < 30, outcome  # the endless body was never read


# -- 4. every read of a body or a file is bounded --------------------------------------------------------

#: 64 MiB of JSON as a gzip member of about 64 KiB.
BOMB_BYTES = 64 * 1024 * 1024


def test_record_bounds_a_compressed_bomb_and_an_endless_stream(upstream: MockServer, tmp_path: Path) -> None:
    bomb = faults.gzip_answer(BOMB_BYTES)
    good = tmp_path / "cassettes" / "kognitos.yaml"
    good.parent.mkdir()
    shutil.copy(MOCK_CASSETTES / "kognitos.yaml", good)
    with front(upstream, Fault("GET", GET_RUN, bomb), Fault("GET", LIST_RUNS, faults.endless_body)) as server:
        outcome = conformance(
            "record", "kognitos", "--base-url", server.base_url, "--out", "cassettes",
            "--request-timeout", "2", "--max-body-mb", "1", "--poll-interval", "0.05",
            "--lifecycle-timeout", "5", cwd=tmp_path, env={"KOGNITOS_API_KEY": TOKEN},
        )  # fmt: skip
    assert outcome.code == 2, outcome
    assert "test_operation[getRun]: body larger than 1048576 bytes" in outcome.out
    assert "test_operation[listRuns]: response too slow" in outcome.out
    # a recording that failed part of the way replaces nothing
    assert good.read_bytes() == (MOCK_CASSETTES / "kognitos.yaml").read_bytes()
    assert "cassettes/kognitos.yaml was left as it was" in outcome.err
    assert outcome.seconds < 60 and outcome.peak_mb < 400, outcome
    no_leak([outcome], [tmp_path])


def multi_member_bomb(members: int) -> bytes:
    """``members`` gzip members of 16 MiB of spaces each: about 16 KiB a member on disk."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    member = compressor.compress(b" " * (16 * 1024 * 1024)) + compressor.flush()
    return member * members


def test_replay_and_diff_bound_a_compressed_bomb_in_a_cassette(tmp_path: Path) -> None:
    bomb = multi_member_bomb(96)  # 1.5 MB in the cassette, 1.5 GiB decompressed

    def explode(interaction: dict[str, Any]) -> None:
        if "/v2/runs?" in interaction["request"]["uri"]:  # listRuns
            body_of(interaction, bomb, "gzip")

    altered_cassette(tmp_path / "cassettes" / "kognitos.yaml", explode)
    assert (tmp_path / "cassettes" / "kognitos.yaml").stat().st_size < 4 * 1024 * 1024
    replayed = conformance("replay", "cassettes", "--report-dir", "report", cwd=tmp_path)
    assert replayed.code == 1, replayed
    assert ("body-too-large", "more than 10485760 bytes") in findings(tmp_path / "report", "listRuns")
    compared = conformance(
        "diff", str(MOCK_CASSETTES / "kognitos.yaml"), "cassettes/kognitos.yaml", cwd=tmp_path
    )
    assert compared.code in (0, 1), compared
    for outcome in (replayed, compared):
        assert outcome.peak_mb < 400 and outcome.seconds < 60, outcome
    no_leak([replayed, compared], [tmp_path])


def test_endless_and_special_files_are_one_line_errors(tmp_path: Path) -> None:
    replayed = conformance("replay", "/dev/zero", "--report-dir", "report", cwd=tmp_path)
    one_line_error(replayed, "/dev/zero: not a regular file; not read")
    reported = conformance("report", "/dev/zero", "--out", "report", cwd=tmp_path)
    one_line_error(reported, "/dev/zero: not a regular file; not read")
    (tmp_path / "endless").mkdir()
    (tmp_path / "endless" / "kognitos.yaml").symlink_to("/dev/zero")
    replayed_recording = conformance(
        "record", "kognitos", "--base-url", "http://127.0.0.1:9/v2", "--token", "t", "--record-mode", "none",
        "--out", "endless", cwd=tmp_path,
    )  # fmt: skip
    one_line_error(replayed_recording, "endless/kognitos.yaml: not a regular file; not read")
    for outcome in (replayed, reported, replayed_recording):
        assert outcome.peak_mb < 400 and outcome.seconds < 30, outcome


# -- 5. no secret from the base URL or a broken token reaches an output ---------------------------------


def test_secrets_in_the_base_url_reach_no_output_and_the_query_travels(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    mock = create_mock("kognitos", "faithful", TOKEN)  # a mock of its own: the runs start runs in it
    with MockServer(mock.app(), mock.spec.base_path) as served:
        url = served.base_url
        user, password, query = (
            CANARIES[k] for k in ("base URL user", "base URL password", "base URL query")
        )
        secret_url = url.replace("http://", f"http://{user}:{password}@") + f"?key={query}"
        ran = here(
            "run", "kognitos", "--base-url", secret_url, "--token", TOKEN, "--phases", "examples",
            "--max-examples", "2", "--seed", "1", "--poll-interval", "0.05", "--report-dir", "report",
            cwd=tmp_path,
        )  # fmt: skip
        recorded = here(
            "record", "kognitos", "--base-url", secret_url, "--out", "cassettes", "--poll-interval", "0.05",
            cwd=tmp_path, env={"KOGNITOS_API_KEY": TOKEN},
        )  # fmt: skip
        bad = here("run", "kognitos", "--base-url", secret_url + "#x", "--report-dir", "bad", cwd=tmp_path)
    assert ran.code == 0, ran  # the query did not corrupt the paths: every response judged as before
    document = valid_outputs(tmp_path / "report")
    assert document["apis"][0]["base_url"].startswith("http://[REDACTED]@127.0.0.1:")
    assert document["summary"]["cases"] > 0 and document["summary"]["new"] == 0
    assert recorded.code == 0, recorded
    assert "?key=[REDACTED]" in (tmp_path / "cassettes" / "kognitos.yaml").read_text()
    one_line_error(bad, "has a fragment")
    no_leak([ran, recorded, bad], [tmp_path])


def test_a_token_with_cr_lf_is_refused_without_showing_it(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    token = "canary-crlf-\r\n-token-41ab"
    canaries = {"token": token, "its tail": "-token-41ab"}
    outcomes = [
        here("run", "kognitos", "--base-url", "http://127.0.0.1:9/v2", "--token", token, cwd=tmp_path),
        here(
            "record",
            "kognitos",
            "--base-url",
            "http://127.0.0.1:9/v2",
            cwd=tmp_path,
            env={"KOGNITOS_API_KEY": token},
        ),
    ]
    for outcome in outcomes:
        one_line_error(outcome, "holds a control character")
    no_leak(outcomes, [tmp_path], canaries)


# -- 6. a spec cannot make the suite fetch or disclose ---------------------------------------------------


@contextmanager
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server that records every path asked of it."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"type": "string"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("where", ["remote", "file URI", "another folder"])
def test_a_spec_reference_outside_it_is_one_line_and_never_followed(tmp_path: Path, where: str) -> None:
    secret = tmp_path / "outside" / "secret.yaml"
    secret.parent.mkdir()
    secret.write_text("canary-file-content-31c9: {type: string}\n")
    specs = tmp_path / "specs"
    shutil.copytree(SPECS_DIR, specs)
    with counting_server() as (url, asked):
        reference = {
            "remote": f"{url}/schema.json",
            "file URI": secret.as_uri(),
            "another folder": "../outside/secret.yaml",
        }[where]
        spec = specs / "kognitos.yaml"
        text = spec.read_text()
        target = '$ref: "#/components/schemas/ProcessStage"'
        assert target in text
        spec.write_text(text.replace(target, f"$ref: '{reference}'", 1))
        outcome = conformance("list", cwd=tmp_path, env={SPECS_DIR_ENV: str(specs)})
    one_line_error(outcome, "kognitos.yaml: $ref", reference, "leaves the spec")
    assert asked == [] and "canary-file-content" not in outcome.printed


# -- 7. every file and option is type-checked -----------------------------------------------------------


def test_the_published_results_schema_is_the_one_that_is_checked(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    published = json.loads((Path(__file__).resolve().parents[2] / "docs" / "results.schema.json").read_text())
    assert published == RESULTS_SCHEMA
    from jsonschema import Draft202012Validator

    replayed = here("replay", str(MOCK_CASSETTES), "--report-dir", "report", cwd=tmp_path)
    assert replayed.code == 0, replayed
    Draft202012Validator(published).validate(strict_json(tmp_path / "report" / "results.json"))


def _results(change: Callable[[dict[str, Any]], Any]) -> Callable[[Path, Path], None]:
    def write(path: Path, source: Path) -> None:
        document = strict_json(source)
        change(document)
        path.write_text(json.dumps(document))

    return write


WRONG_RESULTS: dict[str, tuple[Callable[[Path, Path], None], str]] = {
    "score is text": (
        _results(lambda d: d["apis"][0].update(score="high")),
        "not a conformance results document: /apis/0/score must be of type number",
    ),
    "a finding is a number": (
        _results(lambda d: d.update(findings=[7])),
        "not a conformance results document",
    ),
    "count is negative": (
        _results(lambda d: d["findings"][0].update(count=-1)),
        "/findings/0/count breaks the minimum rule",
    ),
    "NaN": (lambda path, _: path.write_text('{"version": NaN}'), "invalid JSON (NaN is not JSON)"),
}


@pytest.fixture(scope="module")
def mock_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real results.json (a replay of the mock cassettes), for the files made wrong from it."""
    return mock_replay_results(tmp_path_factory, tmp_path_factory.mktemp("mock-results"))


@pytest.mark.parametrize(("make", "message"), list(WRONG_RESULTS.values()), ids=list(WRONG_RESULTS))
def test_report_and_diff_refuse_results_of_the_wrong_types_in_one_line(
    here: Callable[..., Outcome],
    tmp_path: Path,
    mock_results: Path,
    make: Callable[[Path, Path], None],
    message: str,
) -> None:
    make(tmp_path / "results.json", mock_results)
    one_line_error(here("report", "results.json", cwd=tmp_path), message)
    one_line_error(here("diff", str(mock_results), "results.json", cwd=tmp_path), message)
    assert not (tmp_path / "index.html").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "kognitos", "--port", "99999"], "99999 is not a port (0..65535)"),
        (["serve", "kognitos", "--port", "-1"], "-1 is not a port (0..65535)"),
        (["replay", "cassettes", "--max-body-mb", "nan"], "--max-body-mb must be positive"),
        (["record", "kognitos", "--base-url", "http://[::1:bad/v2", "--token", "t"], "is not a URL"),
        (["run", "kognitos", "--base-url", "http://h:99999/v2"], "is not a URL"),
        (["run", "kognitos", "--report-dir", "/"], "cannot write reports to /: it is the root directory"),
        (["run", "kognitos", "--max-body-mb", "inf"], "--max-body-mb must be positive"),
        (["run", "kognitos", "--max-body-mb", "1e300"], "--max-body-mb must be at most 1024"),
        (
            ["run", "kognitos", "--request-timeout", "nan"],
            "--request-timeout and --max-body-mb must be positive",
        ),
        (["run", "kognitos", "--request-timeout", "1e308"], "--request-timeout must be at most 3600"),
        (["run", "kognitos", "--workers", "100000"], "--workers must be at most 64"),
        (["run", "kognitos", "--seed", "-1"], "--seed must be a whole number"),
        (
            [
                "record",
                "kognitos",
                "--base-url",
                "http://127.0.0.1:9/v2",
                "--token",
                "t",
                "--request-timeout",
                "inf",
            ],
            "--request-timeout and --max-body-mb must be positive",
        ),
    ],
)
def test_options_out_of_range_are_one_line_errors(
    here: Callable[..., Outcome], tmp_path: Path, args: list[str], message: str
) -> None:
    one_line_error(here(*args, cwd=tmp_path), message)


def test_a_bad_x_lifecycle_is_one_line(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(SPECS_DIR, specs)
    spec = specs / "kognitos.yaml"
    document = yaml.safe_load(spec.read_text())
    document["x-lifecycle"]["poll"] = "getRun"  # a step must be a mapping
    spec.write_text(yaml.safe_dump(document, sort_keys=False))
    outcome = conformance("list", cwd=tmp_path, env={SPECS_DIR_ENV: str(specs)})
    one_line_error(outcome, "kognitos.yaml: invalid x-lifecycle at /poll")


def test_a_poisoned_history_is_skipped_with_a_warning_run_after_run(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    report = tmp_path / "report"
    report.mkdir()
    good = {"finished_at": "2026-01-01T03:17:00+00:00", "exit_code": 0, "summary": {}, "apis": {}}
    poisoned = [
        json.dumps({**good, "apis": 5}),
        json.dumps({**good, "apis": {"kognitos": {"score": "x", "known": 0, "new": 0}}}),
        '{"finished_at": "x", "exit_code": NaN, "apis": {}}',
        "[" * 5000,
        json.dumps(good),
    ]
    (report / HISTORY_FILE).write_text("\n".join(poisoned) + "\n")
    first = here("replay", str(MOCK_CASSETTES), "--report-dir", "report", cwd=tmp_path)
    assert first.code == 0, first
    assert (
        first.err
        == f"conformance: warning: report/{HISTORY_FILE}: skipped 4 unreadable line(s) (1, 2, 3, 4)\n"
    )
    valid_outputs(report)
    second = here("replay", str(MOCK_CASSETTES), "--report-dir", "report", cwd=tmp_path)
    assert second.code == 0 and second.err == "", second  # the poisoned lines are gone, the good ones kept
    entries = [json.loads(line) for line in (report / HISTORY_FILE).read_text().splitlines()]
    assert entries[0]["finished_at"] == good["finished_at"] and len(entries) == 3
    assert "Traceback" not in first.printed + second.printed


def test_a_cassette_uri_that_is_no_url_is_an_error_line(here: Callable[..., Outcome], tmp_path: Path) -> None:
    def broken(interaction: dict[str, Any]) -> None:
        interaction["request"]["uri"] = "http://[::1:bad/v2/runs"

    altered_cassette(tmp_path / "kognitos" / "kognitos.yaml", broken)
    outcome = here("replay", "kognitos", "--report-dir", "report", cwd=tmp_path)
    assert outcome.code == 2, outcome
    document = valid_outputs(tmp_path / "report")
    assert all("request.uri is not a URL" in error for error in document["errors"])
    assert "Traceback" not in outcome.printed


# -- 8. outputs stay strict JSON, well-formed XML, printable and small ---------------------------------


def test_outputs_stay_valid_and_small_whatever_the_server_sends(
    upstream: MockServer, here: Callable[..., Outcome], tmp_path: Path
) -> None:
    def hostile(document: dict[str, Any]) -> None:
        document["status"] = "0" + "".join(random.choices(string.ascii_letters, k=2 * 1024 * 1024 - 1))
        document["stage"] = "__1e400__"  # written as the number 1e400: valid JSON, no float
        document["\x1b[31mred\x07\u202e"] = 1

    with front(
        upstream,
        Fault(
            "GET", GET_RUN, faults.rewritten(lambda b: _edited(b, hostile).replace(b'"__1e400__"', b"1e400"))
        ),
        Fault("GET", LIST_RUNS, faults.json_body(b'{"items": [], "total": NaN}')),
    ) as server:
        outcome = run_against(
            server.base_url, tmp_path, "--include-operation", "listRuns", "--phases", "examples,coverage",
            "--max-examples", "5", command=here,
        )  # fmt: skip
    assert outcome.code == 1, outcome
    directory = tmp_path / "report"
    document = valid_outputs(directory)
    # NaN is read by lenient readers only: its own kind of finding (strict JSON on the wire)
    assert any(kind == "non-finite-number" for kind, _ in findings(directory, "listRuns"))
    at_get_run = findings(directory)
    stage = next(f for (kind, _), f in at_get_run.items() if f["location"] == "/stage")
    assert stage["observed"] == "1e+400" or stage["observed"] == "1e400"
    status = [f for f in document["findings"] if f["location"] == "/status" and f["status_code"] == 200]
    # distinct values at one location are one group; each value stored is truncated
    values = [v for f in status for v in (f["observed"] if f.get("group") else [f["observed"]])]
    assert values and all(v.endswith("[truncated: 2097152 characters]") for v in values)
    assert all(len(v) < 2200 for v in values)
    assert any(f["location"] == "/\\x1b[31mred\\x07\\u202e" for f in document["findings"])
    assert "\x1b" not in outcome.out and "\x07" not in outcome.out
    assert document["summary"]["cases"] == sum(api["cases"] for api in document["apis"])
    for name in ("results.json", "index.html", "junit.xml"):
        assert (directory / name).stat().st_size < 1024 * 1024, name
    no_leak([outcome], [tmp_path])


def _edited(body: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    document = json.loads(body)
    change(document)
    return json.dumps(document).encode()


# -- 9. no wrong verdict, no lost data -------------------------------------------------------------------


def test_a_failed_recording_never_replaces_a_good_cassette(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    cassette = tmp_path / "cassettes" / "kognitos.yaml"
    cassette.parent.mkdir()
    shutil.copy(MOCK_CASSETTES / "kognitos.yaml", cassette)
    outcome = here(
        "record", "kognitos", "--base-url", "http://127.0.0.1:9/v2", "--out", "cassettes",
        "--poll-interval", "0.05", cwd=tmp_path, env={"KOGNITOS_API_KEY": TOKEN},
    )  # fmt: skip
    assert outcome.code == 2, outcome
    assert cassette.read_bytes() == (MOCK_CASSETTES / "kognitos.yaml").read_bytes()
    assert outcome.err.strip().splitlines() == [
        "conformance: error: cannot reach kognitos at http://127.0.0.1:9/v2: connection refused"
    ]
    for internal in ("/site-packages/", "FAILED ", "E   ", ".py:"):
        assert internal not in outcome.printed
    no_leak([outcome], [tmp_path])


def test_a_symlinked_history_is_not_followed(here: Callable[..., Outcome], tmp_path: Path) -> None:
    outside = tmp_path / "outside.jsonl"
    outside.write_text("precious\n")
    report = tmp_path / "report"
    report.mkdir()
    (report / HISTORY_FILE).symlink_to(outside)
    outcome = here("replay", str(MOCK_CASSETTES), "--report-dir", "report", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert outside.read_text() == "precious\n"
    assert "history.jsonl: not read" in outcome.err and "conformance: warning:" in outcome.err
    assert not (report / HISTORY_FILE).is_symlink()
    valid_outputs(report)


def test_a_report_directory_holding_other_folders_is_refused(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    (tmp_path / "project" / "src").mkdir(parents=True)
    outcome = here("replay", str(MOCK_CASSETTES), "--report-dir", "project", cwd=tmp_path)
    one_line_error(outcome, "it holds 'src', which is no report file")
    assert [p.name for p in (tmp_path / "project").iterdir()] == ["src"]


# -- 10. nothing is left behind by SIGKILL, and a report set is published whole -------------------------


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_mocks_die_with_a_killed_run_and_its_leftovers_are_cleaned(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conformance",
            "run",
            "kognitos",
            "--max-examples",
            "500",
            "--report-dir",
            "r",
        ],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not (mocks := children(process.pid)):
        assert process.poll() is None and time.monotonic() < deadline, "the mock never started"
        time.sleep(0.1)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    deadline = time.monotonic() + 15
    while [pid for pid in mocks if alive(pid)]:
        assert time.monotonic() < deadline, "an embedded mock outlived the killed run"
        time.sleep(0.1)

    gone = process.pid  # a process id that is no more: what a killed writer leaves carries it
    report = tmp_path / "r"
    report.mkdir(exist_ok=True)
    litter = [report / f".results.json.{gone}.abc123.tmp", tmp_path / f".r.{gone}.def456.new"]
    litter[0].write_text("{half")
    litter[1].mkdir()
    outcome = conformance("replay", str(MOCK_CASSETTES), "--report-dir", "r", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert not any(os.path.lexists(path) for path in litter)
    assert sorted(p.name for p in report.iterdir()) == [
        "history.jsonl",
        "index.html",
        "junit.xml",
        "results.json",
    ]


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two renames"])
def test_a_report_set_is_published_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    from conformance.cassettes.replay import replay
    from conformance.results import files as results_module
    from conformance.results import publish as report_module

    if not exchange:
        monkeypatch.setattr(results_module, "_exchange", lambda first, second: False)
    result, _ = replay([MOCK_CASSETTES])
    directory = tmp_path / "report"
    first = publish_run(result, directory)
    (directory / "notes.txt").write_text("a file of the user's, carried along\n")
    earlier = {p.name: p.read_bytes() for p in directory.iterdir()}

    def broken(document: dict[str, Any], history: list[dict[str, Any]], since: Any = None) -> str:
        raise RuntimeError("the renderer failed half way")

    monkeypatch.setattr(report_module, "render_report", broken)
    with pytest.raises(RuntimeError):
        publish_run(result, directory)
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == earlier  # not one file replaced
    monkeypatch.undo()
    if not exchange:
        monkeypatch.setattr(results_module, "_exchange", lambda first, second: False)

    second = publish_run(replay([MOCK_CASSETTES])[0], directory)
    assert second["finished_at"] != first["finished_at"]
    assert strict_json(directory / "results.json")["finished_at"] == second["finished_at"]
    assert (directory / "notes.txt").read_text() == "a file of the user's, carried along\n"
    assert len((directory / HISTORY_FILE).read_text().splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left
