"""``conformance run``: its options from defaults, ``conformance.toml`` and the command line, and
the run itself, which an interruption stops with its results so far written."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from conformance.cli import config
from conformance.engine.options import RunOptions
from conformance.engine.settings import RUN, by_name
from conformance.errors import UsageError
from conformance.vendors.registry import resolve_apis


@contextmanager
def _interruptible() -> Iterator[list[int]]:
    """SIGINT and SIGTERM stop a run the same way: the first raises ``KeyboardInterrupt`` in the
    main thread, so the run stops and its results so far are written; later ones are ignored
    until that is done (a second Ctrl-C must not cut a report in half)."""
    received: list[int] = []

    def stop(signum: int, _: FrameType | None) -> None:
        if not received:
            received.append(signum)
            raise KeyboardInterrupt

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_options(args: argparse.Namespace) -> tuple[RunOptions, Path]:
    """The run's options and report directory: defaults, then conformance.toml, then the command line."""
    given = config.command_line(RUN, args)
    if "base_url" in given and "mock_mode" in given:
        raise UsageError("--mock-mode applies to the embedded mocks; it cannot be combined with --base-url")
    values, per_api = config.run_settings(given, config.load_config(given.get("config")))
    report_dir = values.pop("report_dir", by_name(RUN)["report-dir"].default)
    values.pop("config", None)
    options = RunOptions(apis=list(getattr(args, "apis", [])), per_api=per_api, **values)
    options.validate()
    return options, report_dir


def run_command(args: argparse.Namespace) -> int:
    from conformance.cli.console import print_summary
    from conformance.cli.progress import progress_bar
    from conformance.cli.step_summary import github_outputs
    from conformance.engine.runner import run
    from conformance.results.files import ensure_report_dir
    from conformance.results.publish import publish_run
    from conformance.usercache import keep_hypothesis_data

    keep_hypothesis_data()
    options, report_dir = run_options(args)
    ensure_report_dir(report_dir)
    with _interruptible() as received:
        with progress_bar([api.name for api in resolve_apis(options.apis)]) as hook:
            result = run(options, hook)
        document = publish_run(result, report_dir)
    print_summary(document, str(report_dir))
    github_outputs(document, str(report_dir))
    if received:
        name = signal.Signals(received[0]).name
        print(f"conformance: interrupted by {name}; partial results in {report_dir}", file=sys.stderr)
        return 130 if received[0] == signal.SIGINT else 2
    return result.exit_code
