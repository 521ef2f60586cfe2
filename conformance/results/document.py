"""Machine-readable output: ``results.json`` for tools, as a JSON Schema and as the document
a run or a replay writes, and the two written together with ``junit.xml`` (``results.junit``).
Outputs are strict JSON: no bare ``NaN``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance import __version__, versions
from conformance.bounds import printable, strict_json
from conformance.errors import UsageError
from conformance.findings import OUTCOMES, STRICT, recorded_pattern, tally
from conformance.results.files import publish
from conformance.results.junit import junit_document
from conformance.results.model import ApiResult, RunResult
from conformance.results.profile import PROFILE_SCHEMA
from conformance.validation import errors

#: Version 3 added targets, the catalogued quirks that did not appear, responses by outcome,
#: per-check counts and the public pages a quirk cites; version 2 files are still read (they
#: lack only those).
SCHEMA_VERSION = 3
READABLE_VERSIONS = (2, 3)

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
#: A public page a finding rests on: a vendor's page a catalogue entry cites or that documents the
#: operation, or the public text of a convention.
_CITATION = {
    "type": "object",
    "required": ["title", "url", "section"],
    "properties": {"title": _TEXT, "url": {"type": "string", "pattern": "^https://"}, "section": _TEXT},
}
#: ``--fail-on`` as recorded: ``breaking`` or ``any``, with ``,resolved`` (or ``strict``).
_FAIL_ON = {"type": "string", "pattern": recorded_pattern()}
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
                "parameters": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "--parameter NAME=VALUE: path and query values (a tenant's ids)",
                },
                "checks": {"type": "array", "items": {"type": "string"}, "description": "empty: all"},
                "exclude_checks": {"type": "array", "items": {"type": "string"}},
                "max_failures": {"type": ["integer", "null"], "minimum": 1},
                "max_time": {"type": ["integer", "null"], "minimum": 1},
                "per_api": {
                    "type": "object",
                    "additionalProperties": {"type": "object"},
                    "description": "[run.<api>] sections of the config file",
                },
                "rerun": {
                    "type": "string",
                    "pattern": "^conformance run",
                    "description": "the command that repeats this run, [run.<api>] sections written out "
                    "(one line per API when several have one)",
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
        "versions": {
            "type": "object",
            "description": "conformance's version and the judging libraries' (absent in older files)",
            "additionalProperties": _TEXT,
        },
        "options": _OPTIONS,
        "strict": {"type": "boolean"},
        "fail_on": {"anyOf": [_FAIL_ON, {"const": str(STRICT)}]},
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
                                "profile": PROFILE_SCHEMA,
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


def with_later_counts(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every count added since its file was written (``_LATER``) as 0, in its
    summary, API entries, operations and responses by outcome: an older night's file lacks them,
    and every reader (merge, compare, the report, the console) may then index them."""

    def filled(counts: dict[str, Any]) -> dict[str, Any]:
        counts = dict.fromkeys(_LATER, 0) | counts
        if isinstance(counts.get("responses"), dict):  # a version 2 file counts no responses
            counts["responses"] = dict.fromkeys(_LATER, 0) | counts["responses"]
        return counts

    return {
        **document,
        "summary": filled(document["summary"]),
        "apis": [
            filled(api) | {"operations": [filled(operation) for operation in api["operations"]]}
            for api in document["apis"]
        ],
    }


def check_results(document: Any) -> None:
    """Refuse a document that is not ``results.json`` as ``RESULTS_SCHEMA`` describes it, in one
    line naming the first wrong place (never the value itself, which may be huge).

    The Rust validator accepts a good document (a 35 MB file in a fraction of a second, where
    jsonschema took twenty); jsonschema says what is wrong with the others."""
    found = errors(RESULTS_SCHEMA, document)
    if not found:
        return
    from jsonschema.exceptions import best_match  # loaded only for a bad document

    error = best_match(found)
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


def _api_entry(api: ApiResult) -> dict[str, Any]:
    """One API's scorecard in results.json."""
    return {
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
                **({"profile": api.profile[op.id]} if op.id in api.profile else {}),
            }
            for op in api.operations.values()
        ],
    }


def results_document(result: RunResult) -> dict[str, Any]:
    apis = [_api_entry(api) for api in result.results]
    return {
        "version": SCHEMA_VERSION,
        "tool": f"conformance {__version__}",
        "started_at": result.started_at.isoformat(),
        "finished_at": result.finished_at.isoformat(),
        "duration_s": round((result.finished_at - result.started_at).total_seconds(), 2),
        "strict": result.fail_on.strict,
        "fail_on": str(result.fail_on),
        "exit_code": result.exit_code,
        "seed": result.seed,
        "versions": versions(),
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


def results_text(document: dict[str, Any]) -> str:
    """``results.json``: strict JSON (non-finite numbers as text, control characters escaped)."""
    return strict_json(document, indent=2) + "\n"


def write_results(result: RunResult, directory: Path) -> dict[str, Any]:
    """Publish ``results.json`` and ``junit.xml`` together; the results document is returned."""
    document = results_document(result)
    publish(directory, {"results.json": results_text(document), "junit.xml": junit_document(document)})
    return document
