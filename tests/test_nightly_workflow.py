"""The nightly workflow parses, runs on a schedule, covers every API with its own credential,
and calls the command line with arguments the command line accepts."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli.arguments import build_parser
from conformance.vendors.registry import APIS

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "nightly.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]


def commands(job: dict[str, Any], api: str) -> list[list[str]]:
    """The ``conformance`` command lines of a job's steps, with the matrix and URL filled in."""
    lines = []
    for step in steps(job):
        for line in step.get("run", "").splitlines():
            line = (
                line.strip().replace("${{ matrix.api }}", api).replace('"$BASE_URL"', "https://vendor.test")
            )
            if line.startswith(".venv/bin/conformance "):
                lines.append(shlex.split(line.split(" || ", 1)[0])[1:])
    return lines


def test_runs_every_night_and_on_demand(workflow: dict[str, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert re.fullmatch(r"\S+ \S+ \* \* \*", triggers["schedule"][0]["cron"])
    assert "workflow_dispatch" in triggers


def test_mocks_job_runs_every_api_with_a_pinned_seed_on_python_311_and_uploads_reports(
    workflow: dict[str, Any],
) -> None:
    job = workflow["jobs"]["mocks"]
    setup = next(step for step in steps(job) if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == "3.11"
    [line] = commands(job, "")
    run = build_parser().parse_args(line)
    assert line[0] == "run" and not getattr(run, "apis", None)  # every API, as `make demo`
    assert isinstance(run.seed, int)  # a night can be repeated exactly
    assert run.report_dir == Path("reports/latest") and not hasattr(run, "base_url")  # the mocks
    upload = next(step for step in steps(job) if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/" and upload["if"] == "${{ !cancelled() }}"


def test_vendor_job_covers_each_api_with_its_own_credential(workflow: dict[str, Any]) -> None:
    """The matrix is what ``conformance list --json`` prints: every registered vendor's declaration."""
    listing = workflow["jobs"]["vendors"]
    step = next(step for step in steps(listing) if step.get("id") == "list")
    command = shlex.split(step["run"].split("$(", 1)[1].split(")", 1)[0])
    assert command[0] == ".venv/bin/conformance" and build_parser().parse_args(command[1:]).json
    completed = subprocess.run(
        [sys.executable, "-m", "conformance", *command[1:]], capture_output=True, text=True, check=True
    )
    matrix = {entry["api"]: entry for entry in json.loads(completed.stdout)}
    assert set(matrix) == set(APIS)
    for api, entry in matrix.items():
        assert entry["credential"] == APIS[api].credential_env
        assert entry["base_url"] == f"{api.upper()}_BASE_URL"
    job = workflow["jobs"]["vendor"]
    assert job["needs"] == "vendors"
    assert job["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.vendors.outputs.matrix) }}"
    assert job["env"]["TOKEN"] == "${{ secrets[matrix.credential] }}"
    assert job["strategy"]["fail-fast"] is False
    # a vendor that issues tokens also names the secrets of the client its job signs in as
    for api, entry in matrix.items():
        oauth = APIS[api].oauth
        assert (entry.get("client_id"), entry.get("client_secret")) == (
            (oauth.client_id_env, oauth.client_secret_env) if oauth else (None, None)
        )
    assert matrix["solvexia"]["client_id"] == "SOLVEXIA_CLIENT_ID"
    assert "secrets[matrix.client_id]" in job["env"]["CLIENT_ID"]
    assert "secrets[matrix.client_secret]" in job["env"]["CLIENT_SECRET"]


def exported(job: dict[str, Any], step: str, entry: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """The variables the named step's script hands to ``conformance``: the script run by bash with
    the matrix entry filled in and the command replaced by one that prints its environment."""
    script = next(s["run"] for s in steps(job) if s.get("name") == step)
    script = re.sub(r"\$\{\{ matrix\.(\w+) \}\}", lambda m: entry.get(m.group(1), ""), script)
    script = script.replace(".venv/bin/conformance", "env -0 #")
    clean = {"PATH": os.environ["PATH"]}
    completed = subprocess.run(
        ["bash", "-e", "-c", script], env={**clean, **env}, capture_output=True, check=True
    )
    variables = dict(item.split("=", 1) for item in completed.stdout.decode().split("\0") if "=" in item)
    return {
        name: value for name, value in variables.items() if name not in {*clean, *env, "PWD", "SHLVL", "_"}
    }


@pytest.mark.parametrize("step", ["conformance run", "conformance record"])
def test_solvexia_signs_in_with_the_client_credentials_and_others_use_their_key(
    workflow: dict[str, Any], step: str
) -> None:
    job = workflow["jobs"]["vendor"]
    solvexia = {"api": "solvexia", "credential": "SOLVEXIA_TOKEN", "base_url": "SOLVEXIA_BASE_URL",
                "client_id": "SOLVEXIA_CLIENT_ID", "client_secret": "SOLVEXIA_CLIENT_SECRET"}  # fmt: skip
    secrets = {
        "TOKEN": "",
        "CLIENT_ID": "id-1",
        "CLIENT_SECRET": "secret-2",
        "BASE_URL": "https://vendor.test",
    }
    assert exported(job, step, solvexia, secrets) == {
        "SOLVEXIA_CLIENT_ID": "id-1",
        "SOLVEXIA_CLIENT_SECRET": "secret-2",
    }
    kognitos = {"api": "kognitos", "credential": "KOGNITOS_API_KEY", "base_url": "KOGNITOS_BASE_URL"}
    key = {"TOKEN": "key-3", "CLIENT_ID": "", "CLIENT_SECRET": "", "BASE_URL": "https://vendor.test"}
    assert exported(job, step, kognitos, key) == {"KOGNITOS_API_KEY": "key-3"}


def test_vendor_job_runs_then_records_and_uploads_reports_and_cassettes(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["vendor"]
    names = [step.get("name") for step in steps(job)]
    assert names.index("conformance run") < names.index("conformance record")
    record = steps(job)[names.index("conformance record")]
    assert "!cancelled()" in record["if"]  # drift found by the run must not stop the recording
    upload = next(step for step in steps(job) if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"].split() == ["reports/", "cassettes/nightly/"]


@pytest.mark.parametrize("api", list(APIS))
def test_workflow_commands_are_accepted_by_the_command_line(workflow: dict[str, Any], api: str) -> None:
    lines = commands(workflow["jobs"]["vendor"], api)
    assert [line[0] for line in lines] == ["run", "record", "compare", "report", "diff"]
    run, record, compare, report, diff = (build_parser().parse_args(line) for line in lines)
    old = Path("last-night") / api
    assert (compare.old, compare.new) == (old / "results.json", Path("reports") / api / "results.json")
    assert report.results == [compare.new] and report.baseline == compare.old
    assert (diff.old, diff.new) == (old / f"{api}.yaml", Path("cassettes/nightly") / f"{api}.yaml")
    assert run.apis == [api] and record.api == api
    assert run.base_url == record.base_url == "https://vendor.test"
    assert run.report_dir == Path("reports") / api


def test_vendor_job_keeps_tonight_for_tomorrow_in_the_cache(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["vendor"]
    by_name = {step.get("name"): step for step in steps(job)}
    restore, save = by_name["Restore last night"], by_name["Save tonight"]
    assert restore["uses"].startswith("actions/cache/restore") and save["uses"].startswith(
        "actions/cache/save"
    )
    assert restore["with"]["path"] == save["with"]["path"] == "last-night/${{ matrix.api }}"
    assert restore["with"]["restore-keys"] in save["with"]["key"]
    names = list(by_name)
    assert names.index("Restore last night") < names.index("conformance run")
    assert names.index("conformance record") < names.index("What changed since last night")
    assert names.index("What changed since last night") < names.index("Keep tonight for tomorrow")
    assert "!cancelled()" in by_name["What changed since last night"]["if"]


def _fixture_artifacts(root: Path) -> None:
    """What actions/download-artifact leaves for ``pattern: reports-*``: a folder per artifact, the
    mocks' ``latest/`` and a vendor's ``reports/<api>/`` beside its cassettes."""
    from conformance.cassettes.replay import replay
    from conformance.results.document import write_results
    from conformance.vendors.registry import CASSETTES_DIR

    mocks, _ = replay([CASSETTES_DIR / "mocks" / "robocorp.yaml", CASSETTES_DIR / "mocks" / "solvexia.yaml"])
    write_results(mocks, root / "artifacts" / "reports-mocks" / "latest")
    for api in ("kognitos", "automation_runs"):
        vendor, _ = replay([CASSETTES_DIR / "mocks" / f"{api}.yaml"])
        write_results(vendor, root / "artifacts" / f"reports-{api}" / "reports" / api)
        cassettes = root / "artifacts" / f"reports-{api}" / "cassettes" / "nightly"
        cassettes.mkdir(parents=True)
        (cassettes / f"{api}.yaml").write_text((CASSETTES_DIR / "mocks" / f"{api}.yaml").read_text())


def _merge_step(workflow: dict[str, Any], root: Path) -> subprocess.CompletedProcess[str]:
    """The combined job's merge step, run by bash in ``root`` with the suite in this interpreter."""
    script = next(
        s["run"] for s in steps(workflow["jobs"]["combined"]) if s.get("name") == "Merge the night's reports"
    )
    script = script.replace(".venv/bin/conformance", f"{shlex.quote(sys.executable)} -m conformance")
    environment = {**os.environ, "GITHUB_STEP_SUMMARY": str(root / "summary.md")}
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=root, env=environment, capture_output=True, text=True
    )


def test_the_last_job_merges_every_vendors_artifact_and_writes_the_step_summary(
    workflow: dict[str, Any], tmp_path: Path
) -> None:
    job = workflow["jobs"]["combined"]
    assert set(job["needs"]) == {"mocks", "vendor"} and job["if"] == "${{ !cancelled() }}"
    download = next(s for s in steps(job) if s.get("uses", "").startswith("actions/download-artifact"))
    assert download["with"] == {"pattern": "reports-*", "path": "artifacts"}
    upload = next(s for s in steps(job) if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"] == "reports/combined/" and not upload["with"]["name"].startswith("reports-")
    _fixture_artifacts(tmp_path)
    first = _merge_step(workflow, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    combined = tmp_path / "reports" / "combined"
    document = json.loads((combined / "results.json").read_text())
    assert {api["api"] for api in document["apis"]} == set(APIS)
    assert {suite.get("name") for suite in ET.parse(combined / "junit.xml").iter("testsuite")} == set(APIS)
    assert "Since last night" not in (combined / "index.html").read_text()
    assert "### conformance:" in (tmp_path / "summary.md").read_text()
    kept = tmp_path / "last-night" / "combined"
    assert (kept / "results.json").is_file() and (kept / "history.jsonl").is_file()
    # the next night: opens with what changed, and the trend has both nights
    shutil.rmtree(combined)
    second = _merge_step(workflow, tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Since last night" in (combined / "index.html").read_text()
    assert "#### Since last night" in (tmp_path / "summary.md").read_text()
    assert len((combined / "history.jsonl").read_text().splitlines()) == 2
