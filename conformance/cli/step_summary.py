"""The job summary on a GitHub Actions run page: when ``GITHUB_STEP_SUMMARY`` names a file,
``run`` and ``replay`` append a Markdown summary to it (per API: score, new, known, convention,
assumption, errors; the new findings as a table: a departure from an HTTP convention is counted
beside the assumptions, never as new). Anywhere else nothing is written."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.results.compare import Comparison

ENV = "GITHUB_STEP_SUMMARY"
#: New findings listed in the summary; the rest are counted and left to the report.
MAX_ROWS = 50


def cell(text: Any) -> str:
    """Text for one Markdown table cell: on one line, pipes and markup escaped, cut."""
    value = " ".join(str(text).split())
    for character in "\\|`*_<>[]":
        value = value.replace(character, f"\\{character}")
    return value if len(value) <= 200 else value[:199] + "…"


def markdown(document: dict[str, Any], report_dir: str, since: Comparison | None = None) -> str:
    from conformance.results.changes import change_words
    from conformance.results.compare import change_line
    from conformance.results.verdict import resolved_lines, verdict

    summary = document["summary"]
    lines = [
        f"### conformance: {cell(verdict(document).line)}",
        "",
        f"{summary['cases']} cases · {summary['new']} new ({summary['breaking']} breaking, "
        f"{summary['additive']} additive) · {summary['known']} known · {summary['convention']} convention"
        f" · {summary['assumption']} assumption · {summary['errors']} errors · seed {document.get('seed')}"
        f" · report in `{report_dir}`",
        "",
        "| API | target | score | new | known | convention | assumption | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for api in document["apis"]:
        target = f"{api['mock_mode']} mock" if api["mock_mode"] else api["base_url"]
        new = f"**{api['new']}**" if api["new"] else "0"
        lines.append(
            f"| {cell(api['api'])} | {cell(target)} | {api['score']:.1f}% | {new} | {api['known']} "
            f"| {api['convention']} | {api['assumption']} | {len(api['errors'])} |"
        )
    if since is not None:
        lines += ["", f"#### Since last night ({cell(since.old_finished_at)})", ""]
        lines += [f"- newly failing: {cell(f'{o.target} {o.operation}')}" for o in since.failing]
        lines += [f"- recovering: {cell(f'{o.target} {o.operation}')}" for o in since.recovering]
        lines += [f"- resolved? {cell(f'{q.target} {q.quirk}')}" for q in since.resolved]
        lines += [f"- {cell(change_line(change))}" for change in since.findings[:MAX_ROWS]]
        lines += [f"- {cell(change_words(change))}" for change in since.changes[:MAX_ROWS]]
        if since.empty:
            lines.append("- nothing changed")
    fixed = resolved_lines(document)
    if fixed:
        lines += ["", "#### Catalogued quirks resolved?", ""] + [f"- {cell(line)}" for line in fixed]
    new_findings = [f for f in document["findings"] if f["classification"] == "new"]
    if new_findings:
        lines += [
            "",
            "#### New findings",
            "",
            "| severity | API | operation | location | kind | count | message |",
            "| --- | --- | --- | --- | --- | ---: | --- |",
        ]
        for finding in new_findings[:MAX_ROWS]:
            lines.append(
                f"| {finding['severity']} | {cell(finding['api'])} | {cell(finding['operation'])} "
                f"| {cell(finding['location'] or '(body)')} | {cell(finding['kind'])} | {finding['count']} "
                f"| {cell(finding['message'])} |"
            )
        if len(new_findings) > MAX_ROWS:
            lines.append(f"\n… and {len(new_findings) - MAX_ROWS} more new findings: see the report")
    if document["errors"]:
        lines += ["", "#### Errors", ""] + [f"- {cell(error)}" for error in document["errors"]]
    return "\n".join(lines) + "\n\n"


def append_step_summary(
    document: dict[str, Any],
    report_dir: str,
    environ: Mapping[str, str] = os.environ,
    since: Comparison | None = None,
) -> None:
    """Append the summary to ``$GITHUB_STEP_SUMMARY`` when it is set; a file that cannot be written
    is a warning, never the run's failure."""
    target = environ.get(ENV)
    if not target:
        return
    try:
        with Path(target).open("a", encoding="utf-8") as stream:
            stream.write(markdown(document, report_dir, since))
    except OSError as exc:
        print(f"conformance: warning: cannot write {ENV} ({target}): {exc.strerror or exc}", file=sys.stderr)
