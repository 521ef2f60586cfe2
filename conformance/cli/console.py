"""What a person sees in the terminal: a progress bar while APIs run, then a summary."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.bounds import printable
from conformance.results.changes import change_words
from conformance.results.compare import change_line
from conformance.results.identity import target_of
from conformance.results.verdict import resolved_lines, verdict

if TYPE_CHECKING:
    from conformance.cassettes.diff import DiffOutcome
    from conformance.results.compare import Comparison

__all__ = ["outside", "print_comparison", "print_diff", "print_summary"]

stdout = Console(highlight=False, emoji=False)
if not stdout.is_terminal:  # logs and CI: wide enough that the table does not wrap
    stdout.width = 120
stderr = Console(stderr=True, highlight=False, emoji=False)
#: Findings printed before the rest is left to the report: a screenful, one line per group.
MAX_FINDING_LINES = 30


def outside(text: object) -> str:
    """Text from outside (a server, a file, a path, a vendor's name) for a Rich line: control
    characters escaped and brackets escaped, so it is shown as it is and never read as markup."""
    return escape(printable(str(text)))


def print_summary(document: dict[str, Any], report_dir: str) -> None:
    table = Table(title="Conformance", title_justify="left")
    columns = (
        *("API", "target", "operations", "cases", "score"),
        *("known", "convention", "assumption", "breaking", "additive"),
    )
    for column in (*columns, "errors"):
        table.add_column(column, justify="right" if column not in ("API", "target") else "left")
    for api in document["apis"]:
        target = f"{api['mock_mode']} mock" if api["mock_mode"] else api["base_url"]
        table.add_row(
            outside(api["api"]),
            outside(target),
            f"{api['operations_covered']}/{api['operations_total']}",
            str(api["cases"]),
            f"{api['score']:.1f}%",
            str(api["known"]),
            str(api["convention"]),
            str(api["assumption"]),
            f"[bold red]{api['breaking']}[/]" if api["breaking"] else "0",
            f"[yellow]{api['additive']}[/]" if api["additive"] else "0",
            str(len(api["errors"])),
        )
    stdout.print(table)
    lines = [
        f"[{colour}]new {severity}[/] {_finding_line(f)}"
        for severity, colour in (("breaking", "red"), ("additive", "yellow"))
        for f in document["findings"]
        if f["classification"] == "new" and f["severity"] == severity
    ] + [
        f"[{colour}]{classification}[/] {_finding_line(f)} ({why}: {outside(f['assumption'] or '')})"
        for classification, colour, why in (
            ("assumption", "cyan", "the spec assumed"),
            ("convention", "magenta", "HTTP convention, not in the documents"),
        )
        for f in document["findings"]
        if f["classification"] == classification
    ]
    for line in lines[:MAX_FINDING_LINES]:
        stdout.print(line, soft_wrap=True)
    if len(lines) > MAX_FINDING_LINES:
        stdout.print(
            f"... and {len(lines) - MAX_FINDING_LINES} more findings: see the report", soft_wrap=True
        )
    for line in known_quirk_lines(document):
        stdout.print(f"[green]known[/] {outside(line)}", soft_wrap=True)
    for error in document["errors"]:
        stdout.print(f"[yellow]error[/] {outside(error)}", soft_wrap=True)
    for line in resolved_lines(document):
        stdout.print(f"[cyan]resolved?[/] {outside(line)}", soft_wrap=True)
    summary = document["summary"]
    stdout.print(
        f"{verdict(document).line}: {summary['cases']} cases, {summary['known']} known, "
        f"{summary['convention']} convention, {summary['assumption']} assumption, "
        f"{summary['new']} new ({summary['breaking']} breaking, {summary['additive']} additive), "
        f"{summary['errors']} errors — report in {outside(report_dir)}",
        soft_wrap=True,
    )


def known_quirk_lines(document: dict[str, Any]) -> list[str]:
    """Per target, the catalogued quirks the run met, by id, with how often: they fail nothing, and
    the ids are what to look up in ``specs/quirks/``."""
    met: dict[str, Counter[str]] = {}
    for finding in document["findings"]:
        if finding["classification"] == "known" and finding["quirk"]:
            met.setdefault(target_of(finding), Counter())[finding["quirk"]] += finding["count"]
    return [
        f"quirks met by {target}: "
        + ", ".join(
            f"{quirk} ({count} {'time' if count == 1 else 'times'})"
            for quirk, count in sorted(quirks.items())
        )
        for target, quirks in met.items()
    ]


def _finding_line(finding: dict[str, Any]) -> str:
    """One finding (or group) for the terminal; server text is escaped, never read as markup."""
    where = finding["location"] or "(body)"
    if finding.get("group"):
        where += f" ({finding['count']} times)"
    return outside(
        f"{finding['api']} {finding['operation']} {where}: {finding['kind']} — {finding['message']}"
    )


def print_diff(outcome: DiffOutcome) -> None:
    for change in outcome.changes:
        colour = "red" if change.classification == "new" else "green"
        line = (
            f"{change.api} {change.operation} {change.status_code} "
            f"{change.what} {change.location or '(body)'}: {change.message}"
        )
        stdout.print(
            f"[{colour}]{outside(change.classification)}[/] {outside(line)}",
            markup=True,
            soft_wrap=True,
            highlight=False,
        )
    for error in outcome.errors:
        stdout.print(f"[yellow]error[/] {outside(error)}", soft_wrap=True, highlight=False)
    new = sum(1 for change in outcome.changes if change.classification == "new")
    verdict = {0: "no new drift", 1: "NEW DRIFT", 2: "could not read everything"}[outcome.exit_code]
    stdout.print(f"{verdict}: {len(outcome.changes)} changes, {new} new, {len(outcome.errors)} errors")


def print_comparison(comparison: Comparison) -> None:
    stdout.print(f"since {outside(comparison.old_finished_at)}:", soft_wrap=True)
    colours = {"appeared": "red", "disappeared": "green", "class": "yellow", "count": "yellow"}
    for change in comparison.findings:
        stdout.print(f"[{colours[change.change]}]{outside(change_line(change))}[/]", soft_wrap=True)
    for quirk in comparison.resolved:
        line = f"resolved? {quirk.target} {quirk.quirk}: not seen in {quirk.responses} responses"
        stdout.print(f"[cyan]{outside(line)}[/]", soft_wrap=True)
    for operation in comparison.failing:
        stdout.print(f"[red]newly failing: {outside(f'{operation.target} {operation.operation}')}[/]")
    for operation in comparison.recovering:
        stdout.print(f"[green]recovering: {outside(f'{operation.target} {operation.operation}')}[/]")
    for behaviour in comparison.changes:
        mark = " [bold red](fails the night)[/]" if behaviour.fails else ""
        stdout.print(f"[blue]{outside(change_words(behaviour))}[/]{mark}", soft_wrap=True)
    for target in comparison.targets_added:
        stdout.print(f"new target: {outside(target)} (nothing to compare it with)", soft_wrap=True)
    for target in comparison.targets_missing:
        stdout.print(f"[yellow]not checked now:[/] {outside(target)}", soft_wrap=True)
    counts = comparison.counts()
    stdout.print(
        "nothing changed"
        if comparison.empty
        else ", ".join(f"{count} {name}" for name, count in counts.items() if count),
        soft_wrap=True,
    )
