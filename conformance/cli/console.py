"""What a person sees in the terminal: a progress bar while APIs run, then a summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance.bounds import printable
from conformance.cli.progress import progress_bar
from conformance.findings import drift_rule

__all__ = ["outside", "print_summary", "progress_bar"]

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
    columns = ("API", "target", "operations", "cases", "score", "known", "assumption", "breaking", "additive")
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
        f"[cyan]assumption[/] {_finding_line(f)} (the spec assumed: {outside(f['assumption'] or '')})"
        for f in document["findings"]
        if f["classification"] == "assumption"
    ]
    for line in lines[:MAX_FINDING_LINES]:
        stdout.print(line, soft_wrap=True)
    if len(lines) > MAX_FINDING_LINES:
        stdout.print(
            f"... and {len(lines) - MAX_FINDING_LINES} more findings: see the report", soft_wrap=True
        )
    for error in document["errors"]:
        stdout.print(f"[yellow]error[/] {outside(error)}", soft_wrap=True)
    for line in resolved_lines(document):
        stdout.print(f"[cyan]resolved?[/] {outside(line)}", soft_wrap=True)
    summary = document["summary"]
    verdict = _verdict(document)
    stdout.print(
        f"{verdict}: {summary['cases']} cases, {summary['known']} known, {summary['assumption']} assumption, "
        f"{summary['new']} new ({summary['breaking']} breaking, {summary['additive']} additive), "
        f"{summary['errors']} errors — report in {outside(report_dir)}",
        soft_wrap=True,
    )


def resolved_lines(document: dict[str, Any]) -> list[str]:
    """Catalogued quirks the vendor seems to have fixed, one line each (the catalogue's section)."""
    return [
        f"{api.get('target') or api['api']} {quirk['quirk']}: not seen in {quirk['responses']} responses "
        f"of {', '.join(quirk['operations'])} ({quirk['citation']})"
        for api in document["apis"]
        for quirk in api.get("resolved_quirks", [])
    ]


def _verdict(document: dict[str, Any]) -> str:
    summary, code = document["summary"], document["exit_code"]
    if code == 2:
        return "could not run everything"
    strict = document["fail_on"] == "strict"
    if code == 1 and strict:  # any deviation fails it: say which, and whether any of them is new
        new = f"{summary['new']} new" if summary["new"] else "no new drift"
        known, assumed = summary["known"], summary["assumption"]
        return f"strict run failed on {known} known and {assumed} assumption deviations, {new}"
    failing = summary["breaking"] if drift_rule(document["fail_on"]) == "breaking" else summary["new"]
    if code == 1 and not failing:
        return f"{summary.get('resolved', 0)} catalogued quirks resolved? (--fail-on {document['fail_on']})"
    if code == 1:
        return "NEW DRIFT"
    if strict:
        return "no deviation (strict)"
    if summary["new"]:
        return f"no breaking drift ({summary['additive']} additive; they fail only with --fail-on any)"
    return "no new drift"


def _finding_line(finding: dict[str, Any]) -> str:
    """One finding (or group) for the terminal; server text is escaped, never read as markup."""
    where = finding["location"] or "(body)"
    if finding.get("group"):
        where += f" ({finding['count']} times)"
    return outside(
        f"{finding['api']} {finding['operation']} {where}: {finding['kind']} — {finding['message']}"
    )
