"""A team's own vendor, declared outside this package (spec, catalogue and mock in ``acme_jobs/``,
registered by the ``acme-jobs`` distribution's entry point), works with every command: run,
serve, record, replay, diff, report and list, with its credential in no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
TOKEN = "canary-acme-key-7c41e2"
#: The smallest run that goes through every part of one (probe, engine, lifecycle, reports): which
#: vendor is plugged in, not how hard it is fuzzed, is what is tested here.
BUDGET = ("--phases", "examples", "--max-examples", "1")


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``conformance ARGS`` started in a child process that finds the vendor's distribution."""
    env = {**os.environ, "PYTHONPATH": str(HERE), "ACME_API_KEY": TOKEN}
    return subprocess.Popen(
        [sys.executable, "-m", "conformance", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    """What a started command printed, once it exits (killed past 300 s, as the test then fails)."""
    try:
        out, err = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``conformance serve acme``, as a team would start it for its own tests."""
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    command = [sys.executable, "-m", "conformance", "serve", "acme", "--port", "0", "--token", TOKEN]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        assert line.startswith("serving acme at "), line + (process.stderr.read() if process.stderr else "")
        yield line.removeprefix("serving acme at ").split()[0]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_every_command_works_on_a_vendor_plugged_in_from_outside(served: str, tmp_path: Path) -> None:
    outputs: list[str] = []
    # commands that need nothing of each other run side by side, each its own process; the two
    # against the served mock one after the other, as neither should see the other's runs
    served_run = ("--base-url", served, *BUDGET, "--poll-interval", "0.05", "--report-dir", "real")
    listing = start("list", cwd=tmp_path)
    running = start("run", "acme", *BUDGET, "--report-dir", "mocks", cwd=tmp_path)
    real = finish(start("run", "acme", *served_run, cwd=tmp_path))
    recording = ("record", "acme", "--base-url", served, "--out", "cassettes", "--poll-interval", "0.05")
    recorded = finish(start(*recording, cwd=tmp_path))
    listed, run = finish(listing), finish(running)

    assert listed.returncode == 0 and "acme: Acme Jobs API — 4 operations, 1 catalogued" in listed.stdout
    assert run.returncode == 0, run.stdout + run.stderr
    document = json.loads((tmp_path / "mocks" / "results.json").read_text())
    assert {f["quirk"] for f in document["findings"]} == {"AC-001"} and document["summary"]["new"] == 0
    assert real.returncode == 0, real.stdout + real.stderr
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    cassette = tmp_path / "cassettes" / "acme.yaml"
    assert "interactions of acme" in recorded.stdout and cassette.stat().st_size > 0

    replaying = start("replay", str(cassette), "--report-dir", "replayed", cwd=tmp_path)
    diffing = start("diff", str(cassette), str(cassette), cwd=tmp_path)
    rendering = start("report", "mocks/results.json", "--out", "rendered", cwd=tmp_path)
    replayed, diffed, rendered = finish(replaying), finish(diffing), finish(rendering)

    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    replay_document = json.loads((tmp_path / "replayed" / "results.json").read_text())
    assert [api["api"] for api in replay_document["apis"]] == ["acme"]
    assert replay_document["apis"][0]["known"] >= 1 and replay_document["summary"]["new"] == 0
    assert diffed.returncode == 0, diffed.stdout + diffed.stderr
    assert rendered.returncode == 0 and (tmp_path / "rendered" / "index.html").is_file()

    outputs += [c.stdout + c.stderr for c in (listed, run, real, recorded, replayed, diffed, rendered)]
    written = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert not [text for text in [*outputs, *written] if TOKEN in text]
