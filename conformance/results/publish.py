"""The HTML conformance report: ``index.html`` beside ``results.json``, and its run history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.bounds import DEFAULT_LIMITS, ReadLimits, plain, read_file
from conformance.errors import ConformanceError, UsageError
from conformance.results.document import check_results, results_document, results_text, with_later_counts
from conformance.results.files import ensure_report_dir, ensure_writable, publish, publishing, write_atomic
from conformance.results.history import HISTORY_FILE, history_with, read_history
from conformance.results.html.render import check_document, render_report
from conformance.results.junit import junit_document

if TYPE_CHECKING:
    from conformance.results.changes import Thresholds
    from conformance.results.compare import Comparison

__all__ = [
    "load_results",
    "merge_reports",
    "publish_run",
    "render_report",
    "rerender_report",
    "write_report",
]

REPORT_FILE = "index.html"


def _page(
    document: dict[str, Any], history: list[dict[str, Any]], comparison: Comparison | None = None
) -> str:
    """The page of ``document``: every string in it printable (no control character from a
    server reaches the HTML), then rendered."""
    since = plain(comparison.to_dict()) if comparison is not None else None
    return render_report(plain(document), history, since)


def write_report(document: dict[str, Any], directory: Path) -> Path:
    """Publish ``index.html`` with the trend so far and ``history.jsonl`` with this run added."""
    with publishing(directory):
        files = {HISTORY_FILE: history_with(document, directory)}
        files[REPORT_FILE] = _page(document, read_history(directory, lambda _: None))
        publish(directory, files)
    return directory / REPORT_FILE


def publish_run(result: Any, directory: Path) -> dict[str, Any]:
    """A run's (or a replay's) whole report set, published together: ``results.json``,
    ``junit.xml``, ``index.html`` and ``history.jsonl`` are swapped in at once."""
    document = results_document(result)
    try:
        with publishing(directory):
            publish(directory, report_set(document, directory))
    except OSError as exc:  # a full disk, a quota: one line, and the earlier set stays as it was
        raise ConformanceError(f"cannot write reports to {directory}: {exc.strerror or exc}") from None
    return document


def report_set(document: dict[str, Any], directory: Path, since: Comparison | None = None) -> dict[str, str]:
    """Every file of one night's report, by name, as they are published together into ``directory``
    (whose history the trend reads and the new line joins)."""
    return {
        "results.json": results_text(document),
        "junit.xml": junit_document(document),
        REPORT_FILE: _page(document, read_history(directory, lambda _: None), since),
        HISTORY_FILE: history_with(document, directory),
    }


def load_results(path: Path, limits: ReadLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Read a ``results.json`` for re-rendering, merging or comparing, counts an older file lacks
    as 0; any problem is one ``UsageError`` line: too large (over ``limits.file_bytes``), not JSON
    (``NaN``, nested too deep), or not of the types ``RESULTS_SCHEMA`` states."""
    from conformance.bounds import loads_json

    data = read_file(path, limits.file_bytes, UsageError, missing="no such results file")
    try:
        document = loads_json(data)
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except ValueError as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        where = f"at line {line} column {column}" if line else f"({getattr(exc, 'problem', exc)})"
        raise UsageError(f"{path}: invalid JSON {where}") from None
    try:
        check_document(document)
        check_results(document)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return with_later_counts(document)


def _since(
    baseline: Path | None, document: dict[str, Any], limits: ReadLimits, thresholds: Thresholds | None
) -> Comparison | None:
    from conformance.results.compare import compare

    if baseline is None:
        return None
    return compare(load_results(baseline, limits), document, thresholds)


def rerender_report(
    results: Path,
    out: Path | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    baseline: Path | None = None,
    thresholds: Thresholds | None = None,
) -> Path:
    """Draw the report of a recorded run again (opening with what changed since ``baseline``);
    its history is read, not added to."""
    document = load_results(results, limits)
    comparison = _since(baseline, document, limits, thresholds)
    directory = out or results.parent
    ensure_writable(directory)
    path = directory / REPORT_FILE
    write_atomic(path, _page(document, read_history(results.parent), comparison))
    return path


def merge_reports(
    results: list[Path],
    out: Path,
    limits: ReadLimits = DEFAULT_LIMITS,
    baseline: Path | None = None,
    thresholds: Thresholds | None = None,
) -> tuple[dict[str, Any], Comparison | None]:
    """Merge results files (shards, vendors, targets) into one report set in ``out``:
    ``results.json``, ``junit.xml``, ``index.html`` and ``history.jsonl`` (a line per night,
    a trend per target), published together. Every input is read before anything is written."""
    from conformance.results.merge import merge_documents

    documents = [load_results(path, limits) for path in results]
    document = merge_documents(documents)
    comparison = _since(baseline, document, limits, thresholds)
    ensure_report_dir(out)
    with publishing(out):
        publish(out, report_set(document, out, comparison))
    return document, comparison
