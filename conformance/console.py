"""What a person sees in the terminal: a progress bar while APIs run, then a summary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .runner import ProgressHook

stdout = Console(highlight=False)
if not stdout.is_terminal:  # logs and CI: wide enough that the table does not wrap
    stdout.width = 120
stderr = Console(stderr=True, highlight=False)


@contextmanager
def progress_bar(apis: list[str]) -> Iterator[ProgressHook]:
    """A bar per API, advanced as scenarios finish; silent when stderr is not a terminal."""
    progress = Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,
    )
    tasks = {api: progress.add_task(api, total=None) for api in apis}

    def update(api: str, done: int, total: int) -> None:
        progress.update(tasks[api], completed=done, total=total)

    with progress:
        yield update


def print_summary(document: dict[str, Any], report_dir: str) -> None:
    table = Table(title="Conformance", title_justify="left")
    for column in ("API", "target", "operations", "cases", "score", "known", "new", "errors"):
        table.add_column(column, justify="right" if column not in ("API", "target") else "left")
    for api in document["apis"]:
        target = f"{api['mock_mode']} mock" if api["mock_mode"] else api["base_url"]
        table.add_row(
            api["api"],
            target,
            f"{api['operations_covered']}/{api['operations_total']}",
            str(api["cases"]),
            f"{api['score']:.1f}%",
            str(api["known"]),
            f"[bold red]{api['new']}[/]" if api["new"] else "0",
            str(len(api["errors"])),
        )
    stdout.print(table)
    for finding in document["findings"]:
        if finding["classification"] == "new":
            stdout.print(
                f"[red]new[/] {finding['api']} {finding['operation']} {finding['location'] or '(body)'}: "
                f"{finding['kind']} — {finding['message']}",
                markup=True,
                soft_wrap=True,
            )
    for error in document["errors"]:
        stdout.print(f"[yellow]error[/] {error}", soft_wrap=True)
    summary = document["summary"]
    verdict = {0: "no new drift", 1: "NEW DRIFT", 2: "could not run everything"}[document["exit_code"]]
    stdout.print(
        f"{verdict}: {summary['cases']} cases, {summary['known']} known, {summary['new']} new, "
        f"{summary['errors']} errors — report in {report_dir}"
    )
