"""The pytest plugin, as a team's own test suite uses it (pytester): mocks as fixtures, and the
cassettes its tests recorded or replayed judged against the contracts when the session ends."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.vendors.registry import CASSETTES_DIR

pytest_plugins = ["pytester"]
#: The inner sessions run in this process, where conformance is imported already.
INNER = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")


def refused(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        return sock.connect_ex((parts.hostname, parts.port)) != 0


def test_mocks_are_served_for_a_test_or_the_session_and_stopped_after(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest

        RUN = "b4fznghynbdemslfd5k044fgd"  # a run the kognitos mock is seeded with

        @pytest.mark.conformance_mock("kognitos", token="team-token")
        def test_one_test(conformance_mock):
            assert conformance_mock.headers == {"x-api-key": "team-token"}
            run = conformance_mock + "/runs/" + RUN
            assert httpx.get(run, headers=conformance_mock.headers).status_code == 200
            assert httpx.get(run).status_code == 401
            open("urls.txt", "a").write(conformance_mock + "\\n")

        @pytest.mark.parametrize("conformance_mock", [("robocorp", "strict")], indirect=True)
        def test_parametrized(conformance_mock):
            assert (conformance_mock.api, conformance_mock.mode) == ("robocorp", "strict")
            open("urls.txt", "a").write(conformance_mock + "\\n")

        def test_session(conformance_mocks):
            first = conformance_mocks("kognitos")
            assert conformance_mocks("kognitos") is first and first.token == "conformance-demo"
            assert httpx.get(first + "/runs/" + RUN, headers=first.headers).status_code == 200
            open("urls.txt", "a").write(first + "\\n")

        def test_unnamed(conformance_mock):
            pass
        """
    )
    result = pytester.runpytest(*INNER)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*name the mock, e.g. @pytest.mark.conformance_mock(*"])
    urls = (pytester.path / "urls.txt").read_text().split()
    assert len(urls) == 3 and all(refused(url) for url in urls)


def test_the_judge_passes_what_the_session_recorded_and_skips_other_services(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(
        """
        import httpx
        import pytest

        RUN = "b4fznghynbdemslfd5k044fgd"  # a run the kognitos mock is seeded with

        @pytest.mark.vcr
        @pytest.mark.conformance_mock("kognitos")
        def test_records(conformance_mock):
            run = conformance_mock + "/runs/" + RUN
            assert httpx.get(run, headers=conformance_mock.headers).status_code == 200
            # another service of the team's, recorded in the same cassette
            assert httpx.get(conformance_mock.rsplit("/", 1)[0] + "/internal/health").status_code == 404
        """
    )
    report = tmp_path / "judged"
    result = pytester.runpytest(
        *INNER, "--record-mode=once", "--conformance-judge", f"--conformance-report-dir={report}"
    )
    result.assert_outcomes(passed=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*conformance: recorded traffic judged against the contracts*",
            "1 cassettes; 1 calls to other services skipped",
            "kognitos: 1 responses, score 100.0%, 0 new (0 breaking)*",
            "no new drift",
        ]
    )
    [recorded] = pytester.path.glob("cassettes/*/test_records.yaml")  # written by pytest-recording
    assert len(parse_document(recorded)["interactions"]) == 2
    results = json.loads((report / "results.json").read_text())
    assert results["summary"]["skipped"] == 1 and results["options"]["skip_unknown"] is True


def drifted_cassette(directory: Path) -> str:
    """A recorded getRun whose ``id`` became a number, at the vendor's own host; its URI."""
    interactions = parse_document(CASSETTES_DIR / "mocks" / "kognitos.yaml")["interactions"]
    interaction = next(
        i for i in interactions if i["request"]["method"] == "GET" and "/v2/runs/" in i["request"]["uri"]
    )
    path = urlsplit(interaction["request"]["uri"]).path
    interaction["request"]["uri"] = uri = f"https://rest-api.app.kognitos.com{path}"
    body = json.loads(interaction["response"]["body"]["string"])
    interaction["response"]["body"]["string"] = json.dumps({**body, "id": 42})
    write_cassette(directory / "test_replays.yaml", [interaction])
    return uri


def test_the_judge_fails_the_session_on_new_breaking_drift_in_a_replayed_cassette(
    pytester: pytest.Pytester,
) -> None:
    module = pytester.makepyfile(
        test_team="""
        import httpx
        import pytest

        @pytest.mark.vcr
        def test_replays():
            assert httpx.get(URI, headers={"x-api-key": "k"}).json()["id"] == 42
        """
    )
    directory = pytester.path / "cassettes" / "test_team"
    directory.mkdir(parents=True)
    uri = drifted_cassette(directory)
    module.write_text(module.read_text().replace("URI", repr(uri)))

    plain = pytester.runpytest(*INNER)
    plain.assert_outcomes(passed=1)
    assert plain.ret == 0  # without the option nothing is judged

    judged = pytester.runpytest(*INNER, "--conformance-judge", "--junitxml=junit.xml")
    judged.assert_outcomes(failed=1)  # the test passed; the traffic it replayed did not
    assert judged.ret == pytest.ExitCode.TESTS_FAILED
    [suite] = ET.parse(pytester.path / "junit.xml").iter("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    [failure] = suite.iter("failure")
    assert "NEW breaking kognitos getRun /id: type-mismatch" in failure.get("message", "")
    judged.stdout.fnmatch_lines(
        [
            "kognitos: 1 responses, score 0.0%, 1 new (1 breaking)*",
            "NEW breaking kognitos getRun /id: *",
            "drift or errors fail this session",
            "FAILED test_team.py::test_replays - Failed: NEW breaking kognitos getRun /id:*",
        ]
    )
    also_resolved = pytester.runpytest(
        *INNER, "--conformance-judge", "--conformance-fail-on", "breaking,resolved"
    )
    assert also_resolved.ret == pytest.ExitCode.TESTS_FAILED  # the run's own rule, words and all
    bad = pytester.runpytest(*INNER, "--conformance-judge", "--conformance-fail-on", "sometimes")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(
        ["*--fail-on takes breaking, any, convention, resolved, changed*(comma-separated), not 'sometimes'*"]
    )


def test_the_readme_example_passes_the_judge(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("### In your own pytest suite", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert len([line for line in example.splitlines() if line.strip()]) <= 10
    pytester.makepyfile(test_example=example)
    for _ in range(2):  # recorded, then played although the mock has another port
        result = pytester.runpytest(*INNER, "--record-mode=once", "--conformance-judge")
        result.assert_outcomes(passed=2)
        assert result.ret == 0
        result.stdout.fnmatch_lines(
            ["kognitos: 1 responses, score 100.0%, 0 new (0 breaking)*", "no new drift"]
        )
    [cassette] = pytester.path.glob("cassettes/test_example/*.yaml")
    assert "x-api-key:\n      - '[REDACTED]'" in cassette.read_text()
    assert "conformance-demo" not in cassette.read_text()


def test_a_mocks_cassette_is_redacted_whatever_vcr_config_says_and_replays_without_the_judge(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def vcr_config():  # a team's own hooks, which redact nothing
            return {"before_record_request": lambda request: request, "filter_headers": []}
        """
    )
    pytester.makepyfile(
        test_team="""
        import httpx
        import pytest

        @pytest.mark.vcr
        @pytest.mark.conformance_mock("robocorp", token="team-secret-token")
        def test_lists_processes(conformance_mock):
            url = conformance_mock + "/workspaces/workspace_id_example/process-runs?token=team-secret-token"
            assert httpx.get(url, headers=conformance_mock.headers).status_code == 200
        """
    )
    first = pytester.runpytest(*INNER, "--record-mode=once")
    first.assert_outcomes(passed=1)
    [cassette] = pytester.path.glob("cassettes/test_team/*.yaml")
    text = cassette.read_text()
    assert "team-secret-token" not in text and "RC-WSKEY [REDACTED]" not in text
    assert text.count("[REDACTED]") >= 2  # the header and the query parameter
    again = pytester.runpytest(*INNER, "--record-mode=once")
    again.assert_outcomes(passed=1)
    assert cassette.read_text() == text  # played, not recorded again


def test_only_a_served_mocks_address_may_move() -> None:
    """A request to another loopback service is still matched on its port."""
    from vcr.request import Request

    from conformance.cassettes.redacting import mock_origin

    match = mock_origin(lambda: {("127.0.0.1", 5001)})
    match(
        Request("GET", "http://127.0.0.1:5001/v2/runs", "", {}),
        Request("GET", "http://localhost:4000/v2/runs", "", {}),
    )
    with pytest.raises(AssertionError, match=re.escape("127.0.0.1:5002 != 127.0.0.1:4000")):
        match(
            Request("GET", "http://127.0.0.1:5002/a", "", {}),
            Request("GET", "http://127.0.0.1:4000/a", "", {}),
        )
    with pytest.raises(AssertionError):
        match(
            Request("GET", "http://127.0.0.1:5001/a", "", {}), Request("GET", "https://example.com/a", "", {})
        )


def test_the_plugin_imports_nothing_heavy_until_used() -> None:
    code = (
        "import sys, conformance.pytest_plugin;"
        "heavy = [m for m in ('schemathesis', 'hypothesis', 'uvicorn', 'starlette', 'vcr', 'yaml',"
        " 'conformance.mocks', 'conformance.contract.specs', 'conformance.contract.model')"
        " if m in sys.modules];"
        "print(heavy)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
