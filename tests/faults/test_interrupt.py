"""SIGTERM and SIGINT in the middle of ``conformance run``: a real process, a real signal.

The results gathered so far are written with ``"complete": false``, the embedded mock
processes are stopped, and the exit code says the run could not finish (2; 130 for SIGINT).
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .server import alive, children

#: Long enough (500 examples per operation) that a signal after a few seconds lands mid-run.
RUN = [
    sys.executable,
    "-m",
    "conformance",
    "run",
    "solvexia",
    "kognitos",
    "--max-examples",
    "500",
    "--seed",
    "1",
]


def until_printed(process: subprocess.Popen[str], text: str, deadline: float) -> str:
    """What ``process`` wrote to stderr up to the line holding ``text``, read from the pipe itself
    (no buffer holds back the rest, which ``communicate`` reads after)."""
    assert process.stderr is not None
    printed = b""
    while text.encode() not in printed:
        assert time.monotonic() < deadline, f"never printed {text!r}: {printed.decode(errors='replace')}"
        ready, _, _ = select.select([process.stderr], [], [], 1.0)
        if ready:
            chunk = os.read(process.stderr.fileno(), 65536)
            assert chunk, f"stderr closed before {text!r}: {printed.decode(errors='replace')}"
            printed += chunk
    return printed.decode()


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 2), (signal.SIGINT, 130)])
def test_a_signal_mid_run_writes_partial_results_and_stops_the_mocks(
    tmp_path: Path, signum: signal.Signals, exit_code: int
) -> None:
    report = tmp_path / "report"
    process = subprocess.Popen(
        [*RUN, "--report-dir", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(mocks := children(process.pid)) < 2:
            assert process.poll() is None and time.monotonic() < deadline, "the mocks never started"
            time.sleep(0.1)
        # solvexia is under way (a first scenario judged) and far from done
        # (500 examples an operation to fuzz): its progress line says so, however busy the machine
        printed = until_printed(process, "solvexia: examples", deadline + 120)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
        stderr = printed + stderr
    finally:
        process.kill()
    assert process.returncode == exit_code, stderr
    assert "Traceback" not in stdout + stderr
    assert f"interrupted by {signum.name}" in stderr
    document = json.loads((report / "results.json").read_text())
    assert document["summary"]["complete"] is False and document["exit_code"] == 2
    (solvexia,) = document["apis"]  # kognitos never started
    assert solvexia["api"] == "solvexia" and solvexia["cases"] > 0
    assert "interrupted before this API was finished" in solvexia["errors"]
    assert (report / "junit.xml").is_file() and (report / "index.html").is_file()
    assert len((report / "history.jsonl").read_text().splitlines()) == 1
    assert not [path for path in report.iterdir() if path.name.endswith(".tmp")]
    assert not [pid for pid in mocks if alive(pid)], "an embedded mock outlived the run"
