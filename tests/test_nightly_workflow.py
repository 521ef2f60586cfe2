"""The nightly workflow parses, runs on a schedule, covers every API with its own credential,
and calls the command line with arguments the command line accepts."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.apis import APIS
from conformance.cli import _parser

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
                lines.append(shlex.split(line)[1:])
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
    run = _parser().parse_args(line)
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
    assert command[0] == ".venv/bin/conformance" and _parser().parse_args(command[1:]).json
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
    assert [line[0] for line in lines] == ["run", "record"]
    run, record = (_parser().parse_args(line) for line in lines)
    assert run.apis == [api] and record.api == api
    assert run.base_url == record.base_url == "https://vendor.test"
    assert run.report_dir == Path("reports") / api
