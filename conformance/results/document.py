"""Machine-readable output: ``results.json`` for tools and ``junit.xml`` for CI dashboards, and
how every report file reaches its directory.

A run's files are published together: they are written into a fresh folder beside the report
directory (with the directory's other files linked in) and swapped in at once, so a reader
never sees a new ``results.json`` beside an old ``index.html``, and a killed run leaves the
earlier set whole. Single files are written atomically (a temporary file, then a rename).
Temporary files and folders carry their process id: those of a process that is gone (killed,
out of memory) are removed by the next command that writes there. Outputs are strict JSON and
well-formed XML: no bare ``NaN``, no control character XML cannot hold.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.bounds import printable, strict_json
from conformance.errors import UsageError
from conformance.findings import OUTCOMES, Finding, resolved_fails, tally
from conformance.kinds import Classification
from conformance.results.model import RunResult

#: Version 3 added targets, the catalogued quirks that did not appear, responses by outcome,
#: per-check counts and the public pages a quirk cites; version 2 files are still read (they
#: lack only those).
SCHEMA_VERSION = 3
READABLE_VERSIONS = (2, 3)
#: The files a report directory holds; anything else there is carried along untouched.
REPORT_FILES = ("results.json", "junit.xml", "index.html", "history.jsonl", "diff.json")
#: ``.<name>.<pid>.<random>.<tmp|new|old>``: what a writer leaves while it works.
_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.(?P<random>[A-Za-z0-9_]+)\.(?P<kind>tmp|new|old)$")


def process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_leftovers(directory: Path) -> None:
    """Remove what killed writers left in ``directory``: temporary files and staging folders of
    processes that are gone. A report directory that a killed swap had set aside is put back."""
    try:
        entries = list(directory.iterdir())
    except OSError:
        return
    for entry in entries:
        match = _LEFTOVER.match(entry.name)
        if not match or process_alive(int(match["pid"])):
            continue
        original = directory / match["name"]
        if match["kind"] == "old" and not os.path.lexists(original):
            os.rename(entry, original)  # the swap was cut between its two renames: undo it
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step; on failure the old file is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(path.parent)
    handle, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def ensure_writable(directory: Path) -> None:
    """Fail early, before any work, when a directory cannot be written (or is the root)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write reports to {directory}: {exc.strerror or exc}") from None
    resolved = directory.resolve()
    if resolved == Path(resolved.anchor):
        raise UsageError(f"cannot write reports to {directory}: it is the root directory")


def ensure_report_dir(directory: Path) -> None:
    """Fail early when ``directory`` cannot take a run's report set: it cannot be written, it is
    the root, or it holds other folders (``.``, a home), which a report must not replace."""
    ensure_writable(directory)
    resolved = directory.resolve()
    if resolved == Path.cwd().resolve():
        raise UsageError(
            f"cannot write reports to {directory}: it is the current directory; name a folder in it"
        )
    foreign = next((e for e in sorted(resolved.iterdir()) if not _carried(e)), None)
    if foreign is not None:
        raise UsageError(
            f"cannot write reports to {directory}: it holds {printable(foreign.name)!r}, which is no "
            "report file; give --report-dir a folder of its own"
        )
    try:
        tempfile.TemporaryDirectory(dir=resolved.parent).cleanup()
    except OSError as exc:
        raise UsageError(
            f"cannot write reports to {directory}: {resolved.parent}: {exc.strerror or exc}"
        ) from None


def _carried(entry: Path) -> bool:
    """Whether publishing can carry ``entry`` into the new set: a file or a link (never followed)."""
    return entry.is_symlink() or entry.is_file() or bool(_LEFTOVER.match(entry.name))


def publish(directory: Path, files: dict[str, str]) -> None:
    """Write ``files`` (name -> text) into ``directory`` together.

    They are written into a fresh folder beside it, with every other file of ``directory``
    linked in (links are carried, never followed), and the two folders are swapped in one step
    (``renameat2(RENAME_EXCHANGE)``; elsewhere two renames that the next writer completes).
    A directory holding other folders is written file by file instead, each atomically.
    """
    directory = directory.resolve() if directory.exists() else directory.absolute()
    parent = directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(parent)
    if directory.is_dir():
        clean_leftovers(directory)
        if not all(_carried(entry) for entry in directory.iterdir()):
            for name, text in files.items():
                write_atomic(directory / name, text)
            return
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{directory.name}.{os.getpid()}.", suffix=".new"))
    try:
        if directory.is_dir():
            for entry in directory.iterdir():
                if entry.name not in files and not _LEFTOVER.match(entry.name):
                    _carry(entry, staging / entry.name)
        for name, text in files.items():
            with open(staging / name, "w", encoding="utf-8") as stream:
                stream.write(text)
        os.chmod(staging, 0o777 & ~_umask())
        _swap(staging, directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # after the swap it holds the earlier set


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _carry(source: Path, target: Path) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copy2(source, target, follow_symlinks=False)


def _swap(new: Path, old: Path) -> None:
    """Put the folder ``new`` where ``old`` is, in one step where the system can."""
    if not os.path.lexists(old):
        os.rename(new, old)
        return
    if _exchange(new, old):
        return
    aside = old.with_name(f".{old.name}.{os.getpid()}.{os.urandom(4).hex()}.old")
    os.rename(old, aside)  # a kill here is undone by the next writer (clean_leftovers)
    os.rename(new, old)
    shutil.rmtree(aside, ignore_errors=True)


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2``); ``False`` where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(code, os.strerror(code), str(second))


_COUNT = {"type": "integer", "minimum": 0}
_TEXT = {"type": "string"}
_MAYBE_TEXT = {"type": ["string", "null"]}
_COUNTS = {name: _COUNT for name in ("known", "assumption", "new", "breaking", "additive")}
#: Counts and outcomes added since version 3 files were first written: optional when read.
_LATER = {"convention": _COUNT}
#: Judged responses by outcome: they add up to the API's ``cases``.
_RESPONSES = {
    "type": "object",
    "description": "Judged responses by their worst finding (new drift by severity); none: conforming.",
    "required": [name for name in OUTCOMES if name not in _LATER],
    "properties": dict.fromkeys(OUTCOMES, _COUNT),
}
#: A public page of the vendor's that a catalogue entry cites.
_CITATION = {
    "type": "object",
    "required": ["title", "url", "section"],
    "properties": {"title": _TEXT, "url": {"type": "string", "pattern": "^https://"}, "section": _TEXT},
}
#: ``--fail-on`` as recorded: ``breaking`` or ``any``, with ``,resolved`` (or ``strict``).
_FAIL_ON = {"type": "string", "pattern": "^(breaking|any)(,resolved)?$"}
_QUIRK_CHECK = {
    "type": "object",
    "required": ["quirk", "summary", "citation", "operations", "responses", "reason"],
    "properties": {
        "quirk": _TEXT,
        "summary": _TEXT,
        "citation": _TEXT,
        "operations": {"type": "array", "items": _TEXT},
        "responses": _COUNT,
        "reason": _MAYBE_TEXT,
    },
}

#: What the run or replay was given (``options``), so a red night can be repeated exactly.
_OPTIONS: dict[str, Any] = {
    "type": "object",
    "description": "Everything the run or replay was given, credentials redacted ([REDACTED] when one "
    "was given on the command line, null otherwise).",
    "required": ["command"],
    "oneOf": [
        {
            "properties": {
                "command": {"const": "run"},
                "apis": {"type": "array", "items": {"type": "string"}, "description": "empty: every API"},
                "base_url": {"type": ["string", "null"]},
                "token": {"enum": ["[REDACTED]", None]},
                "max_examples": {"type": "integer", "minimum": 1},
                "seed": {"type": ["integer", "null"]},
                "phases": {
                    "type": "array",
                    "items": {"enum": ["examples", "coverage", "fuzzing", "stateful"]},
                },
                "workers": {"type": "integer", "minimum": 1},
                "strict": {"type": "boolean"},
                "fail_on": _FAIL_ON,
                "mock_mode": {"enum": ["faithful", "strict"]},
                "request_timeout": {"type": "number"},
                "max_body_bytes": {"type": "integer"},
                "lifecycle_timeout": {"type": ["number", "null"]},
                "poll_interval": {"type": ["number", "null"]},
                "rate_limit": {"type": ["number", "null"]},
                "headers": {
                    "type": "array",
                    "items": {
                        "type": "array",
                        "prefixItems": [{"type": "string"}, {"type": "string"}],
                        "minItems": 2,
                        "maxItems": 2,
                    },
                },
                "proxy": {"type": ["string", "null"]},
                "tls_verify": {"type": "boolean"},
                "cacert": {"type": ["string", "null"]},
                "include_operations": {"type": "array", "items": {"type": "string"}},
                "exclude_operations": {"type": "array", "items": {"type": "string"}},
                "shard": {
                    "type": ["string", "null"],
                    "pattern": "^[0-9]+/[0-9]+$",
                    "description": "I/N: this job checked the I-th of N shares of the operations",
                },
                "per_api": {
                    "type": "object",
                    "additionalProperties": {"type": "object"},
                    "description": "[run.<api>] sections of the config file",
                },
                "rerun": {
                    "type": "string",
                    "pattern": "^conformance run",
                    "description": "the command that repeats this run (with per_api, the same config file)",
                },
            },
            "required": [
                "apis",
                "base_url",
                "max_examples",
                "seed",
                "phases",
                "workers",
                "strict",
                "fail_on",
                "mock_mode",
                "request_timeout",
                "max_body_bytes",
                "headers",
                "include_operations",
                "exclude_operations",
                "per_api",
                "rerun",
            ],
        },
        {
            "properties": {
                "command": {"const": "replay"},
                "paths": {"type": "array", "items": {"type": "string"}},
                "api": {"type": ["string", "null"]},
                "strict": {"type": "boolean"},
                "fail_on": _FAIL_ON,
                "max_body_bytes": {"type": "integer"},
                "skip_unknown": {"type": "boolean"},
            },
            "required": ["paths", "api", "strict", "fail_on", "max_body_bytes", "skip_unknown"],
        },
    ],
}

#: ``results.json``, as a JSON Schema: what ``report`` and ``diff`` accept. Published as
#: ``docs/results.schema.json`` (a test keeps the two the same and checks real runs against it).
RESULTS_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://github.com/conformance/conformance/docs/results.schema.json",
    "title": "conformance results.json",
    "type": "object",
    "required": [
        "version", "finished_at", "strict", "fail_on", "exit_code", "summary", "apis", "findings", "errors",
    ],
    "properties": {
        "version": {"enum": list(READABLE_VERSIONS)},
        "tool": _TEXT,
        "started_at": _TEXT,
        "finished_at": _TEXT,
        "duration_s": {"type": "number", "minimum": 0},
        "seed": {"type": ["integer", "null"], "description": "The seed the engine used; null for a replay."},
        "options": _OPTIONS,
        "strict": {"type": "boolean"},
        "fail_on": {"anyOf": [_FAIL_ON, {"const": "strict"}]},
        "exit_code": {"enum": [0, 1, 2]},
        "summary": {
            "type": "object",
            "required": ["cases", *_COUNTS],
            "properties": {
                "cases": _COUNT,
                "checks": _COUNT,
                **_COUNTS,
                **_LATER,
                "errors": _COUNT,
                "complete": {"type": "boolean"},
                "apis": _COUNT,
                "resolved": _COUNT,
            },
        },
        "errors": {"type": "array", "items": _TEXT},
        "apis": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "api", "title", "base_url", "mock_mode", "operations_total", "operations_covered",
                    "cases", "checks", *_COUNTS, "score", "errors", "operations",
                ],
                "properties": {
                    "api": _TEXT,
                    "target": {
                        "type": "string",
                        "description": "The API and where it was checked, unique in the file (absent: api)",
                    },
                    "title": _TEXT,
                    "base_url": _TEXT,
                    "mock_mode": _MAYBE_TEXT,
                    "operations_total": _COUNT,
                    "operations_covered": _COUNT,
                    "cases": _COUNT,
                    "checks": _COUNT,
                    **_COUNTS,
                **_LATER,
                    "responses": _RESPONSES,
                    "score": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 100,
                        "description": "Share of judged responses without new drift (see responses).",
                    },
                    "errors": {"type": "array", "items": _TEXT},
                    "adjusted_checks": {"type": "object", "additionalProperties": _TEXT},
                    "duration_s": {"type": "number", "minimum": 0},
                    "check_counts": {"type": "object", "additionalProperties": _COUNT},
                    "resolved_quirks": {
                        "type": "array",
                        "items": _QUIRK_CHECK,
                        "description": "Catalogued quirks whose place responses showed without them",
                    },
                    "unchecked_quirks": {
                        "type": "array",
                        "items": _QUIRK_CHECK,
                        "description": "Catalogued quirks that did not appear and could not have (reason)",
                    },
                    "operations": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["operation", "label", "cases", *_COUNTS],
                            "properties": {
                                "operation": _TEXT,
                                "label": _TEXT,
                                "cases": _COUNT,
                                "responses": _RESPONSES,
                                **_COUNTS,
                **_LATER,
                            },
                        },
                    },
                },
            },
        },
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "api", "operation", "status_code", "location", "kind", "expected", "observed",
                    "classification", "severity", "quirk", "doc", "message", "count", "request",
                    "assumption", "quirk_summary", "citations",
                ],
                "properties": {
                    "api": _TEXT,
                    "target": _TEXT,
                    "operation": _TEXT,
                    "status_code": {"type": ["integer", "null"], "minimum": 100, "maximum": 599},
                    "location": _TEXT,
                    "kind": _TEXT,
                    "expected": True,
                    "observed": True,
                    "classification": {"enum": ["known", "convention", "assumption", "new"]},
                    "severity": {"enum": ["additive", "breaking"]},
                    "quirk": _MAYBE_TEXT,
                    "doc": _MAYBE_TEXT,
                    "message": _TEXT,
                    "count": {"type": "integer", "minimum": 1},
                    "request": _MAYBE_TEXT,
                    "source": _TEXT,
                    "assumption": _MAYBE_TEXT,
                    "quirk_summary": _MAYBE_TEXT,
                    "citations": {"type": "array", "items": _CITATION},
                },
            },
        },
    },
}  # fmt: skip


def check_results(document: Any) -> None:
    """Refuse a document that is not ``results.json`` as ``RESULTS_SCHEMA`` describes it, in one
    line naming the first wrong place (never the value itself, which may be huge)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    error = best_match(Draft202012Validator(RESULTS_SCHEMA).iter_errors(document))
    if error is None:
        return
    where = "/" + "/".join(str(part) for part in error.absolute_path)
    expected = {
        "type": f"must be of type {error.validator_value}",
        "required": f"lacks {printable(error.message.split(' is a required', 1)[0])[:100]}",
        "enum": f"must be one of {error.validator_value}",
        "const": f"must be {error.validator_value}",
    }.get(str(error.validator), f"breaks the {error.validator} rule")
    raise UsageError(f"not a conformance results document: {printable(where)[:200]} {expected}")


def target_of(entry: dict[str, Any]) -> str:
    """The target an API entry or a finding belongs to (a version 2 file names only the API)."""
    return str(entry.get("target") or entry["api"])


def results_document(result: RunResult) -> dict[str, Any]:
    apis = []
    for api in result.results:
        apis.append(
            {
                "api": api.api,
                "target": api.api,
                "title": api.title,
                "base_url": api.base_url,
                "mock_mode": api.mock_mode,
                "operations_total": len(api.operations),
                "operations_covered": len(api.covered),
                "cases": api.cases,
                "checks": sum(api.checks.values()),
                **api.counts(),
                "responses": api.responses,
                "score": api.score,
                "errors": api.errors,
                "adjusted_checks": api.adjusted_checks,
                "duration_s": round(api.duration, 2),
                "check_counts": dict(sorted(api.checks.items())),
                "resolved_quirks": [quirk.to_dict() for quirk in api.resolved],
                "unchecked_quirks": [quirk.to_dict() for quirk in api.unchecked],
                "operations": [
                    {
                        "operation": op.id,
                        "label": op.label,
                        "cases": api.stats[op.id].cases,
                        "responses": {name: api.stats[op.id].outcomes[name] for name in OUTCOMES},
                        **api.counts(op.id),
                    }
                    for op in api.operations.values()
                ],
            }
        )
    return {
        "version": SCHEMA_VERSION,
        "tool": f"conformance {__version__}",
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
        "duration_s": round((result.finished_at - result.started_at).total_seconds(), 2),
        "strict": result.fail_on == "strict",
        "fail_on": result.fail_on,
        "exit_code": result.exit_code,
        "seed": result.seed,
        **({"options": result.options} if result.options else {}),
        "summary": {
            "cases": sum(api.cases for api in result.results),
            "checks": sum(sum(api.checks.values()) for api in result.results),
            **tally(result.findings),
            "errors": len(result.errors),
            "complete": result.complete,
            "apis": len(result.results),
            "skipped": result.skipped,
            "resolved": sum(len(api.resolved) for api in result.results),
        },
        "errors": result.errors,
        "apis": apis,
        "findings": [finding.to_dict() | {"target": finding.api} for finding in result.findings],
    }


def junit_document(document: dict[str, Any]) -> str:
    """One testsuite per target, one testcase per operation and check; new drift fails the case.
    A quirk the vendor seems to have fixed is a testcase too, failed under ``--fail-on ...,resolved``.

    It is drawn from the results document, so a merged or re-read run gets the same file. Every
    testcase and testsuite has a ``time``, and the root the totals. The checks of an operation
    judge the same responses together, so an API's time is shared among its testcases by the
    responses each operation had (equally among its checks)."""
    fail_on = document["fail_on"]
    by_target: dict[str, list[Finding]] = defaultdict(list)
    for data in document["findings"]:
        by_target[target_of(data)].append(Finding.from_dict(data))
    suites = ET.Element("testsuites", name="conformance")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for api in document["apis"]:
        name = target_of(api)
        by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
        for finding in by_target[name]:
            by_case[(finding.operation, finding.source)].append(finding)
        checks = sorted(set(api.get("check_counts", {})) | {source for _, source in by_case})
        suite = ET.SubElement(suites, "testsuite", name=name)
        tests = failures = 0
        seconds = _case_seconds(api, len(checks))
        for operation in api["operations"]:
            for check in checks:
                found = by_case.get((operation["operation"], check), [])
                testcase = ET.SubElement(
                    suite,
                    "testcase",
                    classname=f"{name}.{operation['operation']}",
                    name=check,
                    time=f"{seconds[operation['operation']]:.3f}",
                )
                tests += 1
                drift = [f for f in found if f.fails(fail_on)]
                if drift:
                    failures += 1
                    failure = ET.SubElement(
                        testcase, "failure", message=f"{len(drift)} deviation(s)", type="drift"
                    )
                    failure.text = "\n".join(
                        f"{f.kind} at {f.location or '(body)'}: {f.message}" for f in drift
                    )
                passing = [f for f in found if not f.fails(fail_on)]
                if passing:
                    out = ET.SubElement(testcase, "system-out")
                    out.text = "\n".join(_passing_line(f) for f in passing)
        for quirk in api.get("resolved_quirks", []):
            testcase = ET.SubElement(suite, "testcase", classname=f"{name}.catalogue", name=quirk["quirk"])
            text = (
                f"resolved? {quirk['quirk']} did not appear in {quirk['responses']} responses "
                f"({quirk['citation']})"
            )
            tests += 1
            if resolved_fails(fail_on):
                failures += 1
                ET.SubElement(testcase, "failure", message=text, type="resolved")
            else:
                ET.SubElement(testcase, "system-out").text = text
        for error in api["errors"]:
            testcase = ET.SubElement(suite, "testcase", classname=name, name="run", time="0.000")
            ET.SubElement(testcase, "error", message=error)
            tests += 1
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", str(len(api["errors"])))
        suite.set("time", f"{api.get('duration_s', 0.0):.3f}")
        for key, count in (("tests", tests), ("failures", failures), ("errors", len(api["errors"]))):
            totals[key] += count
    for key, count in totals.items():
        suites.set(key, str(count))
    suites.set("time", f"{document.get('duration_s', 0.0):.3f}")
    for element in suites.iter():  # XML 1.0 cannot hold most control characters, even escaped
        element.text = element.text and printable(element.text, lines=True)
        for key, value in element.attrib.items():
            element.set(key, printable(value))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _case_seconds(api: dict[str, Any], checks: int) -> dict[str, float]:
    """Seconds for each testcase of an operation: the API's time shared by responses judged."""
    cases = {operation["operation"]: operation["cases"] for operation in api["operations"]}
    total = sum(cases.values())
    if not total:  # nothing judged: the time is shared equally
        cases, total = dict.fromkeys(cases, 1), len(cases)
    share = api.get("duration_s", 0.0) / total / max(checks, 1) if total else 0.0
    return {operation: share * count for operation, count in cases.items()}


def _passing_line(finding: Finding) -> str:
    """A finding that does not fail the run, as the testcase's output lists it."""
    where = f"{finding.kind} at {finding.location or '(body)'}"
    if finding.classification is Classification.KNOWN:
        return f"known quirk {finding.quirk}: {where}"
    if finding.classification is Classification.ASSUMPTION:
        return f"assumption: {where}: {finding.message} (the spec assumed: {finding.assumption})"
    return f"new {finding.severity} drift: {where}: {finding.message}"


def results_text(document: dict[str, Any]) -> str:
    """``results.json``: strict JSON (non-finite numbers as text, control characters escaped)."""
    return strict_json(document, indent=2) + "\n"


def write_results(result: RunResult, directory: Path) -> dict[str, Any]:
    """Publish ``results.json`` and ``junit.xml`` together; the results document is returned."""
    document = results_document(result)
    publish(directory, {"results.json": results_text(document), "junit.xml": junit_document(document)})
    return document
