"""What a GitHub Actions run page shows: when ``GITHUB_STEP_SUMMARY`` names a file, ``run`` and
``replay`` append a Markdown summary to it (per API: score, new, known, convention, assumption,
errors; the new findings as a table: a departure from an HTTP convention is counted beside the
assumptions, never as new; a link to the run's artifacts, where the report is), and in a job
(``GITHUB_ACTIONS``) each finding that fails the run is an ``::error`` annotation on the spec it
contradicts, at the operation. Anywhere else nothing is written."""

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
#: GitHub shows at most 10 error annotations of a step: the rest are counted in one more.
MAX_ANNOTATIONS = 10


def cell(text: Any) -> str:
    """Text for one Markdown table cell: on one line, pipes and markup escaped, cut."""
    value = " ".join(str(text).split())
    for character in "\\|`*_<>[]":
        value = value.replace(character, f"\\{character}")
    return value if len(value) <= 200 else value[:199] + "…"


def artifacts_link(environ: Mapping[str, str]) -> str | None:
    """The run page's artifacts (where the uploaded report is), from the job's variables."""
    parts = [environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts):
        return None
    server, repository, run_id = parts
    return f"{server}/{repository}/actions/runs/{run_id}#artifacts"


def markdown(
    document: dict[str, Any], report_dir: str, since: Comparison | None = None, artifacts: str | None = None
) -> str:
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
        f" · report in `{report_dir}`" + (f" ([the run's artifacts]({artifacts}))" if artifacts else ""),
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
            stream.write(markdown(document, report_dir, since, artifacts_link(environ)))
    except OSError as exc:
        print(f"conformance: warning: cannot write {ENV} ({target}): {exc.strerror or exc}", file=sys.stderr)


def github_outputs(document: dict[str, Any], report_dir: str) -> None:
    """What ``run`` and ``replay`` show a GitHub Actions run page: the summary and the annotations."""
    append_step_summary(document, report_dir)
    for line in error_annotations(document):
        print(line, flush=True)


def error_annotations(document: dict[str, Any], environ: Mapping[str, str] = os.environ) -> list[str]:
    """In a GitHub Actions job, the ``::error`` workflow command of each finding that fails the run
    (new breaking drift by default): file the spec it contradicts, at the operation's line, title
    the finding; outside one, none."""
    from conformance.findings import Finding
    from conformance.results.verdict import policy_of

    if environ.get("GITHUB_ACTIONS") != "true":
        return []
    policy = policy_of(document)
    failing = [f for f in map(Finding.from_dict, document["findings"]) if policy.fails(f)]
    workspace = Path(environ.get("GITHUB_WORKSPACE") or Path.cwd())
    lines = []
    for finding in failing[:MAX_ANNOTATIONS]:
        where = _spec_place(finding.api, finding.operation, workspace)
        what = f"{finding.classification} {finding.severity} drift in {finding.api} {finding.operation}"
        message = f"{what}: {finding.title}" + (f" ({finding.count} times)" if finding.count > 1 else "")
        if finding.request:
            message += f"\nreproduce with: {finding.request}"
        lines.append(f"::error {where}title={_property(finding.title)}::{_data(message)}")
    if len(failing) > MAX_ANNOTATIONS:
        more = len(failing) - MAX_ANNOTATIONS
        lines.append(f"::error title=conformance::{more} more findings fail the run: see the report")
    return lines


def _spec_place(api: str, operation: str, workspace: Path) -> str:
    """``file=...,line=...,`` of an operation in its API's spec (the path relative to the workspace,
    where it is in it); nothing for an API no vendor declares."""
    from conformance.vendors.registry import APIS

    if api not in APIS:
        return ""
    path = APIS[api].spec_path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    shown = path.relative_to(workspace.resolve()) if path.is_relative_to(workspace.resolve()) else path
    line = next(
        (n for n, row in enumerate(text.splitlines(), 1) if row.strip() == f"operationId: {operation}"), None
    )
    return f"file={_property(str(shown))}," + (f"line={line}," if line else "")


def _data(text: str) -> str:
    """A workflow command's message, escaped as the runner reads it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value, escaped as the runner reads it."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")
