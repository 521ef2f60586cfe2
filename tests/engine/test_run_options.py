"""Options a schemathesis user expects, with schemathesis' meanings, over real loopback HTTP: a
tenant's ids as ``--parameter`` values for every phase and the lifecycle (the spec untouched),
``--checks`` / ``--exclude-checks``, ``-H``, ``--max-failures`` and ``--max-time``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.vendors.registry import SPECS_DIR

from ..independent.robocorp.serving import serve
from ..inprocess import InProcess
from ..recorder import Recorder, recorded_mock

TOKEN = "run-options-token-4b2d"
QUICK = ["--seed", "1", "--phases", "examples", "--max-examples", "3", "--poll-interval", "0.05"]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


def results(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "results.json").read_text())


def test_a_tenants_ids_as_parameters_reach_every_phase_and_the_lifecycle(
    cli: InProcess, tmp_path: Path
) -> None:
    """An independent Robocorp server holding other workspace and process ids than the spec's
    examples: without the tenant's ids the night cannot be green; with them, given on the
    command line or in ``[run.robocorp.parameters]``, it is, and results.json records them."""
    spec = (SPECS_DIR / "robocorp.yaml").read_text()
    with serve() as server:  # its default ids, not the spec's
        assert server.workspace_id not in spec and server.process_id not in spec
        ids = {"workspace_id": server.workspace_id, "process_id": server.process_id}
        env = {"ROBOCORP_API_KEY": server.credentials["token"], "PATH": ""}
        common = ["run", "robocorp", "--base-url", server.base_url, *QUICK, "--lifecycle-timeout", "20"]

        without = cli(*common, "--report-dir", str(tmp_path / "without"), env=env)
        assert without.returncode != 0

        given = [word for name, value in ids.items() for word in ("--parameter", f"{name}={value}")]
        green = cli(*common, *given, "--report-dir", str(tmp_path / "given"), env=env)
        assert green.returncode == 0, green.stdout + green.stderr
        document = results(tmp_path / "given")
        assert document["options"]["parameters"] == ids and not document["errors"]
        assert all(f"{name}={value}" in document["options"]["rerun"] for name, value in ids.items())
        [api] = document["apis"]
        assert api["check_counts"]["lifecycle"] > 0 and api["check_counts"]["contract"] > 0
        assert all(operation["cases"] for operation in api["operations"])  # every phase reached them all

        table = "".join(f'{name} = "{value}"\n' for name, value in ids.items())
        (tmp_path / "conformance.toml").write_text(f"[run.robocorp.parameters]\n{table}")
        from_file = cli(*common, "--report-dir", "file", cwd=tmp_path, env=env)
        assert from_file.returncode == 0, from_file.stdout + from_file.stderr
        assert results(tmp_path / "file")["options"]["per_api"]["robocorp"]["parameters"] == ids


@pytest.fixture
def kognitos() -> Iterator[tuple[Recorder, list[str]]]:
    """The kognitos mock behind a recorder, and the arguments that point a run at it."""
    with recorded_mock(TOKEN) as (recorder, base_url):
        yield recorder, ["run", "kognitos", "--base-url", base_url, "--token", TOKEN]


STANDARD = {"positive_data_acceptance", "negative_data_rejection", "unsupported_method", "ignored_auth"}


def test_checks_exclude_checks_and_h_as_schemathesis_means_them(
    cli: InProcess, kognitos: tuple[Recorder, list[str]], tmp_path: Path
) -> None:
    recorder, run = kognitos
    excluded = cli(*run, *QUICK, "--exclude-checks", "unsupported_method,ignored_auth",
                   "-H", "X-Tenant: acme", "--report-dir", str(tmp_path / "excluded"))  # fmt: skip
    assert excluded.returncode == 0, excluded.stdout + excluded.stderr
    counts = results(tmp_path / "excluded")["apis"][0]["check_counts"]
    assert STANDARD & set(counts) == {"positive_data_acceptance", "negative_data_rejection"}
    assert counts["contract"] > 0
    sent = [headers for headers in recorder.headers if headers.get("x-api-key") == TOKEN]
    assert sent and all(headers.get("x-tenant") == "acme" for headers in sent)

    only = cli(*run, *QUICK, "--checks", "not_a_server_error", "--report-dir", str(tmp_path / "only"))
    assert only.returncode == 0, only.stdout + only.stderr
    counts = results(tmp_path / "only")["apis"][0]["check_counts"]
    assert not STANDARD & set(counts) and counts["contract"] > 0  # the contract check stands for it


def test_max_failures_stops_the_run_once_that_many_findings_fail_it(cli: InProcess, tmp_path: Path) -> None:
    """Under ``--strict`` every catalogued quirk of the faithful mocks fails the run: the first one
    stops it, and the second API is never started."""
    done = cli("run", "kognitos", "robocorp", *QUICK, "--strict", "--max-failures", "1",
               "--report-dir", str(tmp_path))  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    document = results(tmp_path)
    assert [api["api"] for api in document["apis"]] == ["kognitos"] and not document["errors"]
    assert "--max-failures 1" in document["apis"][0]["adjusted_checks"]["lifecycle"]


def test_max_time_is_a_budget_that_fuzzing_repeats_to_fill(
    cli: InProcess, kognitos: tuple[Recorder, list[str]], tmp_path: Path
) -> None:
    _, run = kognitos
    fuzzing = ["--seed", "1", "--phases", "fuzzing", "--max-examples", "1", "--poll-interval", "0.05"]
    once = cli(*run, *fuzzing, "--report-dir", str(tmp_path / "once"))
    budget = cli(*run, *fuzzing, "--max-time", "3", "--report-dir", str(tmp_path / "budget"))
    assert once.returncode == budget.returncode == 0, budget.stdout + budget.stderr
    [single], [filled] = results(tmp_path / "once")["apis"], results(tmp_path / "budget")["apis"]
    assert filled["cases"] > 2 * single["cases"]
    assert filled["duration_s"] < 3 + 30  # bounded by the budget (and the lifecycle that follows)
    assert results(tmp_path / "budget")["options"]["max_time"] == 3
