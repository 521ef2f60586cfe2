"""Turn a results document into the HTML report people read after a nightly run.

Everything that came from a server reaches the page only through Jinja's autoescape, or
as ``textContent`` in the script; a Content-Security-Policy with a per-render nonce is a
second wall, so a ``<script>`` that slipped through still would not run.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined, select_autoescape

from conformance.errors import UsageError
from conformance.findings import OUTCOMES
from conformance.results.document import READABLE_VERSIONS, SCHEMA_VERSION, with_later_counts
from conformance.results.history import server_of, summary_line
from conformance.results.html.charts import api_state, score_chart, trend_chart
from conformance.results.html.profile_view import profile_views
from conformance.results.html.spec_lines import SpecLine, spec_line
from conformance.results.identity import target_of
from conformance.results.verdict import verdict
from conformance.usercache import cache_dir

_DOCUMENT_KEYS = (
    "version",
    "finished_at",
    "strict",
    "fail_on",
    "exit_code",
    "summary",
    "apis",
    "findings",
    "errors",
)
_API_KEYS = (
    "api", "title", "base_url", "mock_mode", "operations_total", "operations_covered",
    "cases", "checks", "known", "assumption", "new", "breaking", "additive", "score",
    "errors", "operations",
)  # fmt: skip
_FINDING_KEYS = (
    "api", "operation", "status_code", "location", "kind", "expected", "observed",
    "classification", "severity", "quirk", "doc", "message", "count", "request", "assumption",
)  # fmt: skip


@dataclass(frozen=True)
class CitationView:
    """A cited vendor page; ``url`` is ``None`` unless it is ``https``, so a results file from
    elsewhere cannot plant a ``javascript:`` link (such a citation shows as text)."""

    title: str
    url: str | None
    section: str


@dataclass(frozen=True)
class FindingView:
    """One finding as the table shows it, values already turned into display text."""

    api: str
    operation: str
    operation_label: str
    status: str
    location: str
    kind: str
    classification: str
    severity: str
    #: What no document states that it rests on: the spec's assumption, or a convention's RFC.
    assumption: str | None
    expected: str
    observed: str
    message: str
    count: int
    request: str | None
    quirk: str | None
    quirk_summary: str | None
    citations: list[CitationView]
    #: For a group: how many distinct values it gathered, and which are shown.
    group: str | None = None
    #: For an assumption: the spec's statement it contradicts (no document makes one).
    spec_line: SpecLine | None = None


def check_document(document: Any) -> None:
    """Refuse anything that is not a results document this version can draw, in one line."""
    if not isinstance(document, dict):
        raise UsageError("not a conformance results document: expected a JSON object")
    missing = [key for key in _DOCUMENT_KEYS if key not in document]
    if missing:
        raise UsageError(f"not a conformance results document: no {missing[0]!r} field")
    if document["version"] not in READABLE_VERSIONS:
        raise UsageError(
            f"results schema version {document['version']!r} is not supported (this version reads "
            f"{' and '.join(map(str, READABLE_VERSIONS))}; it writes {SCHEMA_VERSION})"
        )
    for field, keys in (("apis", _API_KEYS), ("findings", _FINDING_KEYS)):
        items = document[field]
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise UsageError(f"not a conformance results document: {field!r} is not a list of objects")
        for index, item in enumerate(items):
            absent = [key for key in keys if key not in item]
            if absent:
                raise UsageError(f"not a conformance results document: {field}[{index}] has no {absent[0]!r}")


def change_line(change: dict[str, Any]) -> str:
    """A finding change of ``since`` in words (as the console prints it)."""
    from conformance.results.compare import FindingChange
    from conformance.results.compare import change_line as words

    return words(FindingChange(**change))


def format_time(value: str) -> str:
    """ISO timestamps as a reader scans them, in UTC; anything unparsable is shown as is."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def as_json(value: Any) -> str:
    """Expected and observed values as JSON, so ``null``, ``"null"`` and ``0`` stay apart."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def finding_views(document: dict[str, Any]) -> list[FindingView]:
    """Findings grouped by API, the APIs with most new drift first; within each new drift, then
    assumptions, departures from HTTP conventions and known quirks (as the console lists them)."""
    labels = {
        (api["target"], operation["operation"]): operation["label"]
        for api in document["apis"]
        for operation in api["operations"]
    }
    api_rank = {api["target"]: (-api["new"], position) for position, api in enumerate(document["apis"])}
    ordered = sorted(
        document["findings"],
        key=lambda f: (
            api_rank.get(f["target"], (0, len(api_rank))),
            f["target"],
            ("new", "assumption", "convention", "known").index(f["classification"]),
            f["severity"] != "breaking",
            -f["count"],
        ),
    )
    return [
        FindingView(
            api=f["target"],
            operation=f["operation"],
            operation_label=labels.get((f["target"], f["operation"]), ""),
            status="—" if f["status_code"] is None else str(f["status_code"]),
            location=f["location"] or "(body)",
            kind=f["kind"],
            classification=f["classification"],
            severity=f["severity"],
            assumption=f["assumption"],
            expected=as_json(f["expected"]),
            observed=as_json(f["observed"]),
            message=f["message"],
            count=f["count"],
            request=f["request"],
            quirk=f["quirk"],
            quirk_summary=f["quirk_summary"],
            citations=[_citation(c) for c in f["citations"] if isinstance(c, dict)],
            group=_group_text(f.get("group")),
            spec_line=spec_line(f["api"], f["operation"], f["assumption"])
            if f["classification"] == "assumption"
            else None,
        )
        for f in ordered
    ]


def _citation(citation: dict[str, Any]) -> CitationView:
    url = str(citation.get("url", ""))
    return CitationView(
        title=str(citation.get("title", "")),
        url=url if url.startswith("https://") else None,
        section=str(citation.get("section", "")),
    )


def _group_text(group: Any) -> str | None:
    if not isinstance(group, dict):
        return None
    values = group.get("values") or []
    return f"{group.get('distinct', len(values))} distinct values, the first {len(values)} shown as observed"


def _environment() -> Environment:
    """The templates' environment; their compiled code is kept in the user's cache, because
    compiling them took half a second of every run, replay and report."""
    compiled = cache_dir("templates")
    return Environment(
        loader=PackageLoader("conformance.results.html", "templates"),
        bytecode_cache=FileSystemBytecodeCache(str(compiled)) if compiled else None,
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def with_targets(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every API entry and finding naming its target, and every finding its
    quirk's summary and citations (a version 2 file has none of them)."""
    return {
        **document,
        "apis": [{**api, "target": target_of(api)} for api in document["apis"]],
        "findings": [
            {"quirk_summary": None, "citations": [], **finding, "target": target_of(finding)}
            for finding in document["findings"]
        ],
    }


def render_report(
    document: dict[str, Any], history: list[dict[str, Any]], since: dict[str, Any] | None = None
) -> str:
    """The complete, self-contained ``index.html`` for ``document``, opening with ``since``
    (a ``Comparison`` with last night's results, as a dict) when there is one.

    ``history`` holds the summary lines of earlier runs for the trend; this run is added to
    the end when it is not already the last line (a re-render of a recorded run).
    """
    check_document(document)
    document = with_targets(with_later_counts(document))
    runs = list(history)
    if not runs or runs[-1]["finished_at"] != document["finished_at"]:
        runs.append(summary_line(document))
    findings = finding_views(document)
    kinds = sorted({finding.kind for finding in findings})
    scores = score_chart(document["apis"])
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            document=document,
            summary=document["summary"],
            verdict=verdict(document),
            finished=format_time(document["finished_at"]),
            apis=document["apis"],
            apis_by_name={api["target"]: api for api in document["apis"]},
            api_state=api_state,
            findings=findings,
            kinds=kinds,
            scores=scores,
            bars={bar.api: bar for bar in scores.bars},
            outcomes=OUTCOMES,
            trend=trend_chart(runs, [(target_of(api), server_of(api)) for api in document["apis"]]),
            format_time=format_time,
            since=since,
            change_line=change_line,
            profiles=profile_views(document, runs),
            resolved=[
                (api["target"], quirk) for api in document["apis"] for quirk in api.get("resolved_quirks", [])
            ],
            unchecked=[
                (api["target"], quirk)
                for api in document["apis"]
                for quirk in api.get("unchecked_quirks", [])
            ],
            nonce=secrets.token_urlsafe(16),
        )
    )
