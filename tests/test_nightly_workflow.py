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
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cli.arguments import build_parser
from conformance.vendors.registry import APIS

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"
#: One vendor's night, which nightly.yml calls once per vendor.
VENDOR = ROOT / ".github" / "workflows" / "vendor.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


@pytest.fixture(scope="module")
def vendor() -> dict[str, Any]:
    return yaml.safe_load(VENDOR.read_text())


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]


def commands(job: dict[str, Any], api: str) -> list[list[str]]:
    """The ``conformance`` command lines of a job's steps, with the API and URL filled in."""
    lines = []
    for step in steps(job):
        for line in step.get("run", "").splitlines():
            line = line.strip().replace('"$BASE_URL"', "https://vendor.test").replace("$API", api)
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


def test_each_vendor_job_is_handed_its_own_secrets_by_name_and_no_others(
    workflow: dict[str, Any], vendor: dict[str, Any]
) -> None:
    """One job per vendor ``conformance list --json`` lists, calling vendor.yml with the variables
    that vendor's declaration names: no expression indexes the secrets, none hands them all on."""
    completed = subprocess.run(
        [sys.executable, "-m", "conformance", "list", "--json"], capture_output=True, text=True, check=True
    )
    listed = {entry["api"]: entry for entry in json.loads(completed.stdout)}
    assert set(listed) == set(APIS)
    jobs = {name: job for name, job in workflow["jobs"].items() if "uses" in job}
    assert set(jobs) == set(APIS)
    for api, entry in listed.items():
        job = jobs[api]
        assert job["uses"] == "./.github/workflows/vendor.yml"
        client = {"client-id": entry.get("client_id"), "client-secret": entry.get("client_secret")}
        assert job["with"] == {
            "api": api,
            "base-url": f"${{{{ vars.{entry['base_url']} }}}}",
            "credential": entry["credential"],
            **{f"{key}-variable": name for key, name in client.items() if name},
        }
        assert job["secrets"] == {
            "token": f"${{{{ secrets.{entry['credential']} }}}}",
            **{key: f"${{{{ secrets.{name} }}}}" for key, name in client.items() if name},
        }
    assert listed["solvexia"]["client_id"] == "SOLVEXIA_CLIENT_ID"
    for path in (WORKFLOW, VENDOR):
        text = path.read_text()
        assert "secrets[" not in text and "inherit" not in text and "toJSON(secrets" not in text
    # inside vendor.yml the secrets reach only the two steps that hand them to the suite
    handed = [step["name"] for step in steps(vendor["jobs"]["vendor"]) if "secrets." in json.dumps(step)]
    assert handed == ["conformance run", "conformance record"]
    assert "secrets." not in json.dumps(vendor["jobs"]["vendor"]["env"]["API"])


def exported(job: dict[str, Any], step: str, given: dict[str, str]) -> dict[str, str]:
    """The variables the named step's script hands to ``conformance``: the script run by bash with
    the step's environment (its inputs and secrets as ``given``) and the command replaced by one
    that prints its environment."""
    found = next(s for s in steps(job) if s.get("name") == step)
    expression = re.compile(r"\$\{\{ (?:inputs|secrets)\.([\w-]+) \}\}")
    environment = {
        name: expression.sub(lambda m: given.get(m.group(1), ""), value)
        for name, value in {**job["env"], **found.get("env", {})}.items()
        if name != "CONFIGURED"
    }
    script = found["run"].replace(".venv/bin/conformance", "env -0 #")
    clean = {"PATH": os.environ["PATH"]}
    completed = subprocess.run(
        ["bash", "-e", "-c", script], env={**clean, **environment}, capture_output=True, check=True
    )
    variables = dict(item.split("=", 1) for item in completed.stdout.decode().split("\0") if "=" in item)
    return {
        name: value
        for name, value in variables.items()
        if name not in {*clean, *environment, "PWD", "SHLVL", "_"}
    }


@pytest.mark.parametrize("step", ["conformance run", "conformance record"])
def test_solvexia_signs_in_with_the_client_credentials_and_others_use_their_key(
    vendor: dict[str, Any], step: str
) -> None:
    job = vendor["jobs"]["vendor"]
    solvexia = {"api": "solvexia", "credential": "SOLVEXIA_TOKEN", "base-url": "https://vendor.test",
                "client-id-variable": "SOLVEXIA_CLIENT_ID",
                "client-secret-variable": "SOLVEXIA_CLIENT_SECRET",
                "client-id": "id-1", "client-secret": "secret-2"}  # fmt: skip
    assert exported(job, step, solvexia) == {
        "SOLVEXIA_CLIENT_ID": "id-1",
        "SOLVEXIA_CLIENT_SECRET": "secret-2",
    }
    kognitos = {"api": "kognitos", "credential": "KOGNITOS_API_KEY", "base-url": "https://vendor.test",
                "token": "key-3"}  # fmt: skip
    assert exported(job, step, kognitos) == {"KOGNITOS_API_KEY": "key-3"}  # TOKEN itself is unset


def test_vendor_job_runs_then_records_and_uploads_reports_and_cassettes(vendor: dict[str, Any]) -> None:
    job = vendor["jobs"]["vendor"]
    names = [step.get("name") for step in steps(job)]
    assert names.index("conformance run") < names.index("conformance record")
    record = steps(job)[names.index("conformance record")]
    assert "!cancelled()" in record["if"]  # drift found by the run must not stop the recording
    upload = next(step for step in steps(job) if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["path"].split() == ["reports/", "cassettes/nightly/"]


@pytest.mark.parametrize("api", list(APIS))
def test_workflow_commands_are_accepted_by_the_command_line(vendor: dict[str, Any], api: str) -> None:
    lines = commands(vendor["jobs"]["vendor"], api)
    assert [line[0] for line in lines] == ["run", "record", "compare", "report", "diff"]
    run, record, compare, report, diff = (build_parser().parse_args(line) for line in lines)
    old = Path("last-night") / api
    assert (compare.old, compare.new) == (old / "results.json", Path("reports") / api / "results.json")
    assert report.results == [compare.new] and report.baseline == compare.old
    assert (diff.old, diff.new) == (old / f"{api}.yaml", Path("cassettes/nightly") / f"{api}.yaml")
    assert run.apis == [api] and record.api == api
    assert run.base_url == record.base_url == "https://vendor.test"
    assert run.report_dir == Path("reports") / api


def test_vendor_job_keeps_tonight_for_tomorrow_in_the_cache(vendor: dict[str, Any]) -> None:
    job = vendor["jobs"]["vendor"]
    by_name = {step.get("name"): step for step in steps(job)}
    restore, save = by_name["Restore last night"], by_name["Save tonight"]
    assert restore["uses"].startswith("actions/cache/restore") and save["uses"].startswith(
        "actions/cache/save"
    )
    assert restore["with"]["path"] == save["with"]["path"] == "last-night/${{ inputs.api }}"
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
    assert set(job["needs"]) == {"mocks", *APIS} and job["if"] == "${{ !cancelled() }}"
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


# -- supply chain: pinned actions and dependencies, no credential left behind ------------------------

PINNED = re.compile(r"uses: (?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # v\d+(\.\d+)*$")


def test_every_action_is_pinned_by_commit_with_its_release_in_a_comment() -> None:
    pins: dict[str, set[str]] = {}
    for path in (WORKFLOW, VENDOR):
        for line in path.read_text().splitlines():
            if "uses:" not in line or line.strip().startswith("#"):
                continue
            used = line.split("uses:", 1)[1].strip()
            if used.startswith("./.github/workflows/"):  # this repository, at this commit
                continue
            pinned = PINNED.search(line.strip().removeprefix("- "))
            assert pinned, f"{path.name}: {line.strip()}"
            pins.setdefault(pinned["action"].split("/")[1], set()).add(pinned["sha"])
    assert {"checkout", "setup-python", "cache", "upload-artifact", "download-artifact"} <= set(pins)
    assert all(len(shas) == 1 for shas in pins.values()), pins  # one release of each action


def all_steps(workflow: dict[str, Any], vendor: dict[str, Any]) -> list[dict[str, Any]]:
    jobs = [*workflow["jobs"].values(), *vendor["jobs"].values()]
    return [step for job in jobs for step in job.get("steps", [])]


def test_no_checkout_keeps_its_credentials_and_every_install_is_cached_and_constrained(
    workflow: dict[str, Any], vendor: dict[str, Any]
) -> None:
    every = all_steps(workflow, vendor)
    checkouts = [s for s in every if s.get("uses", "").startswith("actions/checkout@")]
    assert len(checkouts) == 3 and all(s["with"]["persist-credentials"] is False for s in checkouts)
    pythons = [s for s in every if s.get("uses", "").startswith("actions/setup-python@")]
    assert len(pythons) == 3
    for step in pythons:
        assert step["with"] == {
            "python-version": "3.11",
            "cache": "pip",
            "cache-dependency-path": "constraints.txt",
        }
    installs = [s["run"] for s in every if s.get("name") == "Install"]
    assert installs == ["make .venv/.installed"] * 3
    makefile = (ROOT / "Makefile").read_text()
    assert "$(STAMP): pyproject.toml constraints.txt" in makefile
    assert "pip install --quiet -e '.[dev]' -c constraints.txt" in makefile


def test_the_constraints_pin_every_declared_dependency_within_its_range() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {
        canonicalize_name(name): version
        for name, version in (
            line.split("==", 1)
            for line in (ROOT / "constraints.txt").read_text().splitlines()
            if line and not line.startswith("#")
        )
    }
    declared = [
        Requirement(text) for text in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    ]
    for requirement in declared:
        pinned = pins.get(canonicalize_name(requirement.name))
        assert pinned and requirement.specifier.contains(pinned), (str(requirement), pinned)


def test_zizmor_finds_nothing_and_make_lint_runs_it() -> None:
    assert "\t$(BIN)/zizmor --offline .github/workflows\n" in (ROOT / "Makefile").read_text()
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or shutil.which("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install -e '.[dev]' -c constraints.txt)")
    audited = subprocess.run(
        [zizmor, "--offline", "--no-progress", ".github/workflows"], cwd=ROOT, capture_output=True, text=True
    )
    assert audited.returncode == 0, audited.stdout + audited.stderr
