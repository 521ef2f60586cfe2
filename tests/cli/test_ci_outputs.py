"""What CI sees: progress lines in a log (and a bar with queued APIs in a terminal), the GitHub
job summary, JUnit with times and totals, and the command line's one-line answers."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from rich.console import Console

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.cli import main as cli
from conformance.cli.arguments import DEFAULT_MOCK_TOKEN, MOCK_TOKEN_ENV, build_parser
from conformance.cli.progress import progress_bar
from conformance.cli.step_summary import ENV as STEP_SUMMARY
from conformance.mocks import DEFAULT_TOKEN
from conformance.vendors.registry import CASSETTES_DIR

from .. import loopback

REPOSITORY = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_outside_a_terminal_each_api_and_phase_is_a_line_and_a_heartbeat_fills_silences() -> None:
    log = io.StringIO()
    console = Console(file=log, force_terminal=False, width=120)
    with progress_bar(["solvexia", "kognitos"], console=console, heartbeat=0.2) as hook:
        time.sleep(0.5)  # the mocks starting
        hook("solvexia", 1, 8, "examples")
        hook("solvexia", 2, 8, "examples")  # same phase: no new line
        hook("solvexia", 5, 8, "fuzzing")
        time.sleep(0.7)  # a long silence: heartbeats
        hook("solvexia", 8, 8, "lifecycle")
        hook("solvexia", 8, 8, "done")
        hook("kognitos", 1, 4, "examples")
    lines = [line.split("] ", 1)[1] for line in log.getvalue().splitlines()]
    assert lines[0] == "still starting: solvexia, kognitos"
    lines = [line for line in lines if not line.startswith("still starting")]
    assert lines[0:2] == ["solvexia: examples (1/8 scenarios done)", "solvexia: fuzzing (5/8 scenarios done)"]
    beats = [line for line in lines if line.startswith("solvexia: still fuzzing")]
    assert 2 <= len(beats) <= 4, lines
    assert lines[-3:] == [
        "solvexia: lifecycle (8/8 scenarios done)",
        "solvexia: done, 8/8 scenarios",
        "kognitos: examples (1/4 scenarios done)",
    ]
    assert all(re.fullmatch(r"\[\d+:\d\d\] .+", line) for line in log.getvalue().splitlines())


def test_in_a_terminal_an_api_waiting_its_turn_is_queued() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with progress_bar(["solvexia", "kognitos"], console=console) as hook:
        hook("solvexia", 3, 10, "fuzzing")
        time.sleep(0.25)
    shown = ANSI.sub("", screen.getvalue())
    assert re.search(r"kognitos\s+queued", shown)
    assert re.search(r"solvexia · fuzzing .*3/10", shown)
    assert "0/?" not in shown and "/?" not in shown


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``conformance run kognitos`` as a GitHub Actions step runs it: no terminal, a summary file.
    It runs in this process (its output a pipe's stand-in, no terminal): what it prints and writes
    is tested here, not its process."""
    directory = tmp_path_factory.mktemp("ci")
    (directory / "summary.md").write_text("earlier step\n")
    args = ["run", "kognitos", "--phases", "examples,fuzzing", "--max-examples", "1", "--seed", "3"]
    args += ["--report-dir", str(directory / "reports")]
    out, err = io.StringIO(), io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        patch.setenv(STEP_SUMMARY, str(directory / "summary.md"))
        code = cli.main(args)
    completed = subprocess.CompletedProcess(["conformance", *args], code, out.getvalue(), err.getvalue())
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed, directory


def test_a_ci_log_has_one_line_per_api_and_phase(
    ci_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    lines = [line.split("] ", 1)[1] for line in ci_run[0].stderr.splitlines() if line.startswith("[")]
    phases = [line.split(":")[1].split()[0].rstrip(",") for line in lines if line.startswith("kognitos:")]
    assert phases == ["examples", "fuzzing", "lifecycle", "done"], ci_run[0].stderr


def test_the_github_job_summary_is_appended(ci_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    text = (ci_run[1] / "summary.md").read_text()
    assert text.startswith("earlier step\n### conformance: no new drift\n")
    header = next(line for line in text.splitlines() if line.startswith("| API |"))
    row = next(line for line in text.splitlines() if line.startswith("| kognitos |"))
    cells = dict(zip(header.strip("|").split("|"), row.strip("|").split("|"), strict=True))
    cells = {key.strip(): value.strip() for key, value in cells.items()}
    results = json.loads((ci_run[1] / "reports" / "results.json").read_text())["apis"][0]
    assert cells == {
        "API": "kognitos",
        "target": "faithful mock",
        "score": f"{results['score']:.1f}%",
        "new": "0",
        "known": str(results["known"]),
        "convention": str(results["convention"]),
        "assumption": str(results["assumption"]),
        "errors": "0",
    }
    assert "seed 3" in text and "#### New findings" not in text


def test_junit_times_every_testcase_and_suite_and_totals_the_root(
    ci_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    root = ET.parse(ci_run[1] / "reports" / "junit.xml").getroot()
    suites = root.findall("testsuite")
    cases = root.findall("testsuite/testcase")
    assert suites and cases
    assert all(float(element.get("time", "-1")) >= 0 for element in [root, *suites, *cases])
    for key in ("tests", "failures", "errors"):
        assert int(root.get(key, "-1")) == sum(int(suite.get(key, "0")) for suite in suites)
    assert int(root.get("tests", "0")) == len(cases)
    suite_time = float(suites[0].get("time", "0"))
    assert suite_time > 0 and abs(sum(float(c.get("time", "0")) for c in cases) - suite_time) < 0.05
    assert float(root.get("time", "0")) >= suite_time


def drifted(tmp_path: Path) -> Path:
    """A recorded kognitos getRun whose ``id`` is a number: new breaking drift."""
    interactions = parse_document(CASSETTES_DIR / "mocks" / "kognitos.yaml")["interactions"]
    interaction = next(
        i for i in interactions if i["request"]["method"] == "GET" and "/runs/" in i["request"]["uri"]
    )
    interaction["request"]["uri"] = (
        "https://rest-api.app.kognitos.com" + urlsplit(interaction["request"]["uri"]).path
    )
    body = json.loads(interaction["response"]["body"]["string"])
    interaction["response"]["body"]["string"] = json.dumps({**body, "id": 42})
    write_cassette(tmp_path / "drifted.yaml", [interaction])
    return tmp_path / "drifted.yaml"


def test_the_job_summary_lists_new_findings_as_a_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(STEP_SUMMARY, str(tmp_path / "summary.md"))
    assert cli.main(["replay", str(drifted(tmp_path)), "--report-dir", str(tmp_path / "r")]) == 1
    text = (tmp_path / "summary.md").read_text()
    assert text.startswith("### conformance: NEW DRIFT")
    table = text.split("#### New findings\n\n", 1)[1].strip().splitlines()
    assert table[0] == "| severity | API | operation | location | kind | count | message |"
    [row] = table[2:]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[:4] == ["breaking", "kognitos", "getRun", "/id"] and cells[5] == "1"
    assert "| kognitos | " in text and "| **1** |" in text


GITHUB_RUN = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "team/contracts",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_WORKSPACE": str(REPOSITORY),
}


def test_in_a_github_job_new_breaking_drift_is_annotated_on_the_spec_and_the_summary_links_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {**GITHUB_RUN, STEP_SUMMARY: str(tmp_path / "summary.md")}.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["replay", str(drifted(tmp_path)), "--report-dir", str(tmp_path / "r")]) == 1
    [annotation] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    spec = (REPOSITORY / "specs" / "kognitos.yaml").read_text().splitlines()
    line = next(n for n, row in enumerate(spec, 1) if row.strip() == "operationId: getRun")
    title = "type-mismatch at /id%3A integer where the contract requires ['string']"
    assert annotation.startswith(f"::error file=specs/kognitos.yaml,line={line},title={title}::")
    message = annotation.split("::", 2)[2].split("%0A")
    assert message[0] == "new breaking drift in kognitos getRun: " + title.replace("%3A", ":")
    assert message[1].startswith("reproduce with: curl ")
    summary = (tmp_path / "summary.md").read_text()
    assert (
        "([the run's artifacts](https://github.example/team/contracts/actions/runs/4242#artifacts))"
        in summary
    )
    monkeypatch.delenv("GITHUB_ACTIONS")  # anywhere else: no workflow command
    assert cli.main(["replay", str(drifted(tmp_path)), "--report-dir", str(tmp_path / "r")]) == 1
    assert "::error" not in capsys.readouterr().out


def test_a_junit_failure_says_which_finding_and_its_curl_line_reads_the_vendors_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["replay", str(drifted(tmp_path)), "--report-dir", str(tmp_path)]) == 1
    [failure] = ET.parse(tmp_path / "junit.xml").iter("failure")
    assert failure.get("message") == "type-mismatch at /id: integer where the contract requires ['string']"
    [finding] = [
        f
        for f in json.loads((tmp_path / "results.json").read_text())["findings"]
        if f["classification"] == "new"
    ]
    assert '-H "x-api-key: ${KOGNITOS_API_KEY}"' in finding["request"]
    # pasted into a shell that holds the key, the line sends it (curl stood in for by a function)
    script = "curl() { printf '%s\\n' \"$@\"; }; " + finding["request"]
    sent = subprocess.run(
        ["bash", "-c", script],
        env={"KOGNITOS_API_KEY": "key-from-the-vault"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert "x-api-key: key-from-the-vault" in sent.stdout.splitlines()


def test_an_unwritable_job_summary_is_a_warning_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(STEP_SUMMARY, str(tmp_path / "no-such-folder" / "summary.md"))
    replayed = ["replay", str(CASSETTES_DIR / "mocks" / "kognitos.yaml"), "--report-dir", str(tmp_path)]
    assert cli.main(replayed) == 0
    assert f"warning: cannot write {STEP_SUMMARY}" in capsys.readouterr().err


def test_the_console_lists_the_known_quirks_it_met_by_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replayed = ["replay", str(CASSETTES_DIR / "mocks" / "kognitos.yaml"), "--report-dir", str(tmp_path)]
    assert cli.main(replayed) == 0
    findings = json.loads((tmp_path / "results.json").read_text())["findings"]
    met = sum(f["count"] for f in findings if f["quirk"] == "KG-001")
    assert met and {f["quirk"] for f in findings if f["classification"] == "known"} == {"KG-001"}
    out = capsys.readouterr().out.splitlines()
    assert f"known quirks met by kognitos: KG-001 ({met} times)" in out


def test_a_strict_replay_with_no_new_drift_says_what_fails_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replayed = [
        "replay",
        str(CASSETTES_DIR / "mocks" / "kognitos.yaml"),
        "--strict",
        "--report-dir",
        str(tmp_path),
    ]
    assert cli.main(replayed) == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "strict run failed on 2 known, 0 convention and 0 assumption deviations, no new drift:" in out
    assert "NEW DRIFT" not in out


@contextlib.contextmanager
def served(api: str, *options: str, env: dict[str, str] | None = None) -> Iterator[list[str]]:
    """``conformance serve api`` on a free port: the lines it printed before serving."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("CONFORMANCE_MOCK_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", api, "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**clean, **(env or {})},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().rstrip("\n")]
        while not lines[-1].startswith("ids it holds: "):
            lines.append(process.stdout.readline().rstrip("\n"))
        yield lines
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_serve_says_where_and_which_token_it_expects() -> None:
    with served("kognitos") as (first, second, ids):
        assert first.startswith("serving kognitos at http://127.0.0.1:")
        assert second.startswith(f"it accepts the token {DEFAULT_TOKEN!r}") and "header x-api-key" in second
        assert ids.startswith("ids it holds: agent: b4fznghynbdemslfd5k044fgd; ")
    assert (MOCK_TOKEN_ENV, DEFAULT_MOCK_TOKEN) == ("CONFORMANCE_MOCK_TOKEN", DEFAULT_TOKEN)


def test_serve_prints_the_ids_a_client_must_name() -> None:
    """A Robocorp key is valid for one workspace: the ids printed are the ones the mock answers for."""
    with served("robocorp") as (first, _, ids):
        base_url = first.split(" at ", 1)[1]
        held = dict(part.split(": ", 1) for part in ids.removeprefix("ids it holds: ").split("; "))
        assert set(held) == {"workspace", "process", "process run"}
        workspace, process = held["workspace"], held["process"].split(", ")[0]
        headers = {"Authorization": f"RC-WSKEY {DEFAULT_TOKEN}"}
        runs = loopback.get(f"{base_url}/workspaces/{workspace}/process-runs", headers=headers)
        assert runs.status_code == 200
        assert held["process run"].split(", ")[0] in runs.text
        listed = loopback.get(
            f"{base_url}/workspaces/{workspace}/process-runs?process_id={process}", headers=headers
        )
        assert listed.status_code == 200
        assert loopback.get(f"{base_url}/workspaces/ws1/process-runs", headers=headers).status_code == 403


def test_serve_prints_the_oauth_client_it_signs_in_and_never_a_given_secret() -> None:
    with served("solvexia") as (_, _, signs_in, _):
        match = re.fullmatch(
            r"it signs clients in at POST (\S+) \(client credentials grant, a JSON body\): "
            r"client id '([^']+)', client secret '([^']+)'",
            signs_in,
        )
        assert match is not None, signs_in
        url, client_id, secret = match.groups()
        token = loopback.post(
            url, json={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        )
        assert token.status_code == 200 and token.json()["access_token"]
    given = {"CONFORMANCE_MOCK_CLIENT_SECRET": "team-client-secret"}
    with served("solvexia", "--client-id", "team-client", env=given) as lines:
        assert "client id 'team-client', the secret in $CONFORMANCE_MOCK_CLIENT_SECRET" in lines[2]
        assert "team-client-secret" not in "\n".join(lines)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "kognitos", "--port", "80000"], "argument --port: 80000 is not a port (0..65535)"),
        (
            ["record", "kognitos", "--base-url", "http://127.0.0.1:9/v2", "--token", "t0ken"],
            "cannot reach kognitos at http://127.0.0.1:9/v2: connection refused",
        ),
    ],
)
def test_a_bad_port_or_an_unreachable_server_is_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main([*argv, *(["--out", str(tmp_path)] if argv[0] == "record" else [])]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"conformance: error: {message}\n" and captured.out == ""
    assert not list(tmp_path.iterdir())  # nothing was recorded


def test_every_option_and_argument_has_help_text() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, command in [("conformance", parser), *commands.choices.items()]
        for action in command._actions
        if not action.help and not isinstance(action, argparse._HelpAction)
    ]
    assert missing == []
