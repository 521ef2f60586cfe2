"""What the hostile tests share: the command line as a subprocess with its wall time and peak
memory, or in this process where neither is measured, canary credentials, and the checks every
output must pass (strict JSON, well-formed XML, no traceback, no canary in any file written or
line printed)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import pytest

from conformance.vendors.registry import CASSETTES_DIR

from ..canary import leaks
from ..inprocess import InProcess
from ..shared import once_per_run

#: The credential the mocks behind the fault server accept, and other secrets a user may hand the
#: suite: each is looked for in every file written and every line printed.
TOKEN = "canary-hostile-token-7c21"
CANARIES = {
    "token": TOKEN,
    "base URL password": "canary-url-password-93ad",
    "base URL user": "canary-url-user-55e0",
    "base URL query": "canary-url-query-0b6f",
}


@dataclass
class Outcome:
    """A finished command: exit code, what it printed, how long it took, its peak memory. Run in
    this process, ``aside`` holds what a child would have printed to its stderr besides the
    command's own lines, and pytest takes instead: warnings, log records, exceptions in threads."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float
    peak_mb: float
    aside: str = ""

    @property
    def printed(self) -> str:
        return self.out + self.err + self.aside


def conformance(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Outcome:
    """``conformance ARGS`` in a child process, measured: its wall time, and its peak memory as
    the child itself reads it at exit (``VmHWM``, which starts afresh with its own program). The
    peak ``os.wait4`` reports includes the test worker's: a child starts as a copy of its parent
    (``fork``, or ``vfork`` sharing its memory) and keeps that high-water mark through ``exec``."""
    environment = {k: v for k, v in os.environ.items() if not k.endswith(("_TOKEN", "_API_KEY"))}
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as peak,
    ):
        peak_file = Path(peak) / "vmhwm"
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-c", _MEASURED, str(peak_file), *args],
            cwd=cwd,
            env={**environment, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > timeout:
                process.kill()
                os.wait4(process.pid, 0)
                raise AssertionError(f"conformance {' '.join(args)} ran past {timeout} s")
            time.sleep(0.02)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        measured = peak_file.read_text() if peak_file.exists() else ""
        return Outcome(
            tuple(args),
            process.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            seconds,
            int(measured) / 1024 if measured else usage.ru_maxrss / 1024,  # else: killed, over-counted
        )


#: ``python -m conformance ARGS`` that writes its own peak resident memory (kB) to the file named
#: first as it exits.
_MEASURED = """
import atexit, runpy, sys
peak = sys.argv.pop(1)

def record():
    with open("/proc/self/status") as status:
        kilobytes = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(peak, "w") as out:
        out.write(kilobytes)

atexit.register(record)
sys.argv[0] = "conformance"
runpy.run_module("conformance", run_name="__main__", alter_sys=True)
"""


def run_in_process(command: InProcess, *args: str, cwd: Path, env: dict[str, str] | None = None) -> Outcome:
    """``conformance ARGS`` in this process, with ``env`` and none of the vendors' other variables, as
    an ``Outcome`` (its peak memory not measured: 0); where neither its time nor its memory is
    measured, a child process would only add the interpreter's start and the suite's imports."""
    started = time.monotonic()
    with _Aside() as aside:
        completed = command(*args, cwd=cwd, env=env or {})
    seconds = time.monotonic() - started
    return Outcome(
        tuple(args),
        completed.returncode,
        completed.stdout,
        completed.stderr,
        seconds,
        0.0,
        "".join(aside.lines),
    )


class _Aside(logging.Handler):
    """What a child process would print to its stderr besides the command's own lines, and pytest
    takes instead: warnings, log records, exceptions in threads. The threads already running (the
    test's own servers) are not the command's: theirs go on to pytest as before."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.others = set(threading.enumerate()) - {threading.current_thread()}
        self.stack = contextlib.ExitStack()

    def __enter__(self) -> _Aside:
        self.stack.enter_context(warnings.catch_warnings())  # restores the filters and showwarning
        warnings.simplefilter("always")
        warnings.showwarning = partial(self.warned, warnings.showwarning)
        patch = self.stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(threading, "excepthook", partial(self.thrown, threading.excepthook))
        logging.getLogger().addHandler(self)
        self.stack.callback(logging.getLogger().removeHandler, self)
        return self

    def __exit__(self, *raised: object) -> None:
        self.stack.close()

    def emit(self, record: logging.LogRecord) -> None:
        if threading.current_thread() not in self.others:
            self.lines.append(self.format(record) + "\n")

    def warned(
        self,
        shown: Callable[..., None],
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if threading.current_thread() in self.others:
            shown(message, category, filename, lineno, file, line)
        else:
            self.lines.append(warnings.formatwarning(message, category, filename, lineno, line))

    def thrown(
        self, hook: Callable[[threading.ExceptHookArgs], object], args: threading.ExceptHookArgs
    ) -> None:
        if args.thread in self.others:
            hook(args)
        else:
            self.lines.append(
                "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
            )


def one_line_error(outcome: Outcome, *fragments: str) -> None:
    """Exit 2 with a single ``conformance: error:`` line that says each fragment, no traceback."""
    assert outcome.code == 2, outcome
    lines = outcome.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("conformance: error: "), outcome.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in outcome.printed


def strict_json(path: Path) -> Any:
    """``path`` parsed as strict JSON: ``NaN`` and ``Infinity`` are refused."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{path} holds a bare {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=refuse)


def valid_outputs(directory: Path) -> dict[str, Any]:
    """Check a report directory's outputs; returns its results document."""
    document = strict_json(directory / "results.json")
    ET.parse(directory / "junit.xml")  # well-formed XML, or this raises
    html = (directory / "index.html").read_text(encoding="utf-8")
    assert "\x1b" not in html and "\x07" not in html
    return document


def no_leak(
    outcomes: Iterable[Outcome], directories: Iterable[Path], canaries: dict[str, str] = CANARIES
) -> None:
    printed = {" ".join(outcome.args): outcome.printed for outcome in outcomes}
    for outcome in printed.values():
        assert "Traceback" not in outcome, outcome
    escaped = {
        f"{place} (escaped)": json.dumps(value)[1:-1] for place, value in canaries.items() if "\r" in value
    }
    assert leaks({**canaries, **escaped}, directories, printed) == []


def mock_replay_results(factory: pytest.TempPathFactory, directory: Path) -> Path:
    """A real ``results.json`` in ``directory``: a replay of the shipped mock cassettes, the input
    several tests make hostile files from. Replayed once for the whole test run, in a worker's
    process: the replay is their material, not what they test."""

    def replayed(out: Path) -> str:
        from conformance.cli.main import main

        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(out)
            code = main(["replay", str(CASSETTES_DIR / "mocks"), "--report-dir", "r"])
        assert code == 0, code
        return (out / "r" / "results.json").read_text(encoding="utf-8")

    results = directory / "r" / "results.json"
    results.parent.mkdir(parents=True)
    results.write_text(once_per_run(factory, "mock-replay-results", replayed), encoding="utf-8")
    return results
