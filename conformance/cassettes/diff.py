"""What changed since last night: two recordings (or two results.json) of the same API compared.

A recording is reduced to what a client depends on: per operation the status codes, per
response the content types, the JSON type of every field (array items merged as ``*``)
and the values seen where the contract declares an enum. Each change is classified the
way a run classifies deviations: ``new`` when the newer traffic deviates from the
contract in a way no catalogue entry explains, ``known`` when the contract or a
catalogued quirk allows it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from conformance.bounds import DEFAULT_LIMITS, ReadLimits, loads_json, strict_json
from conformance.cassettes.cassette import (
    ApiResolver,
    CassetteError,
    InteractionError,
    cassette_files,
    load_cassette,
)
from conformance.contract.catalogue import load_catalogue
from conformance.contract.model import Spec
from conformance.errors import UsageError
from conformance.findings import BREAKING, Finding
from conformance.judge.classify import classify
from conformance.judge.context import ResponseContext, location_of
from conformance.judge.registry import check_response
from conformance.kinds import json_type
from conformance.results.compare import paired_findings
from conformance.results.identity import finding_identity, target_of

ResponseKey = tuple[str, str, int]  # api, operation, status
FieldKey = tuple[str, str, int, str]  # api, operation, status, location


@dataclass
class Profile:
    """What one recording showed of its APIs."""

    statuses: dict[tuple[str, str], set[int]] = field(default_factory=lambda: defaultdict(set))
    media: dict[ResponseKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    fields: dict[FieldKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    enums: dict[FieldKey, set[str]] = field(default_factory=lambda: defaultdict(set))
    findings: dict[FieldKey, list[Finding]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)

    @property
    def apis(self) -> set[str]:
        return {api for api, _ in self.statuses}


@dataclass
class Change:
    api: str
    operation: str
    status_code: int | None
    what: str
    location: str
    old: Any
    new: Any
    classification: str
    quirk: str | None = None
    message: str = ""


@dataclass
class DiffOutcome:
    changes: list[Change]
    errors: list[str]

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 2
        return 1 if any(change.classification == "new" for change in self.changes) else 0


def diff(old: Path, new: Path, api: str | None = None, *, limits: ReadLimits = DEFAULT_LIMITS) -> DiffOutcome:
    """Compare two recordings, or two results.json files, of the same API."""
    kinds = {_is_results(old), _is_results(new)}
    if kinds == {True}:
        return _diff_results(_load_results(old, limits), _load_results(new, limits))
    if kinds != {False}:
        raise UsageError("compare two recordings or two results.json files, not one of each")
    before, after = profile([old], api, limits), profile([new], api, limits)
    if before.apis and after.apis and before.apis != after.apis:
        old_apis, new_apis = ", ".join(sorted(before.apis)), ", ".join(sorted(after.apis))
        raise UsageError(f"{old} records {old_apis} but {new} records {new_apis}: not the same API")
    return DiffOutcome(_changes(before, after), before.errors + after.errors)


def profile(paths: list[Path], api: str | None = None, limits: ReadLimits = DEFAULT_LIMITS) -> Profile:
    """Reduce the interactions under ``paths`` to a ``Profile``; unreadable parts become errors."""
    resolver, result = ApiResolver(api), Profile()
    try:
        files = list(cassette_files(paths))
    except CassetteError as exc:
        raise UsageError(str(exc)) from None
    for path in files:
        try:
            interactions, problems = load_cassette(path, limits)
        except CassetteError as exc:
            result.errors.append(str(exc))
            continue
        result.errors.extend(problems)
        for interaction in interactions:
            try:
                target = resolver.resolve(interaction)
            except InteractionError as exc:
                result.errors.append(f"{interaction.where}: {exc}")
                continue
            spec, operation = target.spec, target.operation
            name, status = spec.api.name, interaction.status
            result.statuses[(name, operation.id)].add(status)
            ctx = ResponseContext(spec, operation, status, interaction.response_headers, interaction.body)
            if ctx.media_type:
                result.media[(name, operation.id, status)].add(ctx.media_type)
            catalogue = load_catalogue(name)
            headers = interaction.response_headers
            sent = interaction.request_body
            judged = check_response(spec, operation, status, headers, ctx.body, limits, None, sent)
            for deviation in judged:
                finding = classify(deviation, catalogue, exchange=judged.exchange)
                for location in _touched(finding):
                    result.findings[(name, operation.id, status, location)].append(finding)
            is_json = ctx.media_type and "json" in ctx.media_type and len(ctx.body) <= limits.body_bytes
            document = _json(ctx.body) if is_json else _NOT_JSON
            if document is not _NOT_JSON:
                schema = _response_schema(ctx)
                _walk(spec, schema, document, [], (name, operation.id, status), result)
    return result


_NOT_JSON = object()


def _json(body: bytes) -> Any:
    try:
        return loads_json(body)
    except ValueError:  # not JSON, not UTF-8, nested too deep: the check's finding says which
        return _NOT_JSON


def _response_schema(ctx: ResponseContext) -> Any:
    content = ctx.documented.get("content") or {}
    media: dict[str, Any] = content.get(ctx.media_type or "") or next(iter(content.values()), {})
    return media.get("schema")


def _walk(spec: Spec, schema: Any, value: Any, path: list[Any], key: ResponseKey, into: Profile) -> None:
    """Record the type of every field and, where the schema has an enum, the value seen."""
    schema = _branch(spec, schema, value)
    location = location_of(path)
    into.fields[(*key, location)].add(json_type(value))
    if schema is not None and "enum" in schema and isinstance(value, str | int | bool):
        into.enums[(*key, location)].add(json.dumps(value))
    if isinstance(value, dict):
        properties = (schema or {}).get("properties") or {}
        for name, item in value.items():
            _walk(spec, properties.get(name), item, [*path, name], key, into)
    elif isinstance(value, list):
        items = (schema or {}).get("items")
        for item in value:
            _walk(spec, items, item, [*path, 0], key, into)


def _branch(spec: Spec, schema: Any, value: Any) -> dict[str, Any] | None:
    """The (resolved) schema that describes ``value``: through ``$ref``, ``allOf`` and matching ``anyOf``."""
    schema = spec.resolve(schema) if schema is not None else None
    if not isinstance(schema, dict):
        return None
    if "allOf" in schema:
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            part = _branch(spec, part, value) or {}
            merged.setdefault("properties", {}).update(part.get("properties") or {})
            merged.update({k: v for k, v in part.items() if k != "properties"})
        return merged
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            branches = [_branch(spec, b, value) for b in schema[combinator]]
            fitting = [b for b in branches if b and _admits(b, value)]
            return fitting[0] if fitting else None
    return schema


def _admits(schema: dict[str, Any], value: Any) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    types = declared if isinstance(declared, list) else [declared]
    actual = json_type(value)
    return actual in types or (actual == "integer" and "number" in types)


def _touched(finding: Finding) -> list[str]:
    """Locations a finding explains: its own, plus the seen name of a renamed field."""
    if finding.kind == "field-name-alias" and isinstance(finding.observed, str):
        parent = finding.location.rsplit("/", 1)[0]
        return [finding.location, f"{parent}/{finding.observed}"]
    return [finding.location]


#: One difference between two profiles before it is classified: where, what, old and new, in words.
_Difference = tuple[FieldKey, str, Any, Any, str]


def _changes(before: Profile, after: Profile) -> list[Change]:
    """Every difference between the profiles, classified by the newer recording's findings at its place."""
    changes: list[Change] = []
    for key, what, old, new, message in [
        *_response_differences(before, after),
        *_body_differences(before, after),
    ]:
        api, operation, status, location = key
        classification, quirk, why = _explanation(after.findings.get(key, []))
        changes.append(
            Change(
                api, operation, status, what, location, old, new, classification, quirk, f"{message} ({why})"
            )
        )
    return changes


def _explanation(found: list[Finding]) -> tuple[str, str | None, str]:
    """How the findings at a changed place explain the change: its classification, the quirk that
    allows it, and why, as a run would classify them (drift first, then additive, assumed, known);
    nothing found there means the contract allows it."""
    drift = [f for f in found if BREAKING.fails(f)]
    additive = [f for f in found if f.classification == "new"]
    assumed = [f for f in found if f.classification == "assumption"]
    known = [f for f in found if f.classification == "known"]
    if drift:
        return "new", None, drift[0].message
    if additive:
        return "additive", None, f"additive: {additive[0].message}"
    if assumed:
        return "assumption", None, f"the spec assumed: {assumed[0].assumption}"
    if known:
        return "known", known[0].quirk, f"catalogued as {known[0].quirk}"
    return "known", None, "the contract allows it"


def _response_differences(before: Profile, after: Profile) -> list[_Difference]:
    """What came back differs: a status that appeared or vanished, a content type of a status seen
    in both that appeared or vanished."""
    differences: list[_Difference] = []
    for api_op in sorted(set(before.statuses) | set(after.statuses)):
        seen_before, seen_after = before.statuses.get(api_op, set()), after.statuses.get(api_op, set())
        for status in sorted(seen_after - seen_before):
            where = (*api_op, status, "status")
            differences.append(
                (where, "status-appeared", sorted(seen_before), status, f"status {status} is new")
            )
        for status in sorted(seen_before - seen_after):
            where = (*api_op, status, "status")
            differences.append(
                (where, "status-vanished", status, sorted(seen_after), f"status {status} not seen")
            )
    for response in sorted(set(before.media) & set(after.media)):
        header = (*response, "header:content-type")
        for media in sorted(after.media[response] - before.media[response]):
            differences.append((header, "content-type-appeared", None, media, f"content type {media}"))
        for media in sorted(before.media[response] - after.media[response]):
            differences.append((header, "content-type-vanished", media, None, f"{media} not seen"))
    return differences


def _body_differences(before: Profile, after: Profile) -> list[_Difference]:
    """What the bodies of a response seen in both held differs: a field that appeared or vanished,
    a field whose JSON types changed, an enum value not seen before."""
    differences: list[_Difference] = []
    both = {key[:3] for key in before.fields} & {key[:3] for key in after.fields}
    for key in sorted(set(before.fields) | set(after.fields)):
        if key[:3] not in both:
            continue
        old, new = before.fields.get(key), after.fields.get(key)
        if old is None and new is not None:
            differences.append(
                (key, "field-appeared", None, sorted(new), f"field {key[3] or '(body)'} appeared")
            )
        elif new is None and old is not None:
            differences.append(
                (key, "field-vanished", sorted(old), None, f"field {key[3] or '(body)'} vanished")
            )
        elif old is not None and new is not None and old != new:
            change = f"{'|'.join(sorted(old))} -> {'|'.join(sorted(new))}"
            differences.append((key, "type-changed", sorted(old), sorted(new), change))
    for key in sorted(set(after.enums) & set(before.fields)):
        seen = before.enums.get(key, set())
        for value in sorted(after.enums[key] - seen):
            differences.append((key, "enum-value-seen", sorted(seen), json.loads(value), f"value {value}"))
    return differences


def _is_results(path: Path) -> bool:
    return path.is_file() and path.suffix == ".json"


def _load_results(path: Path, limits: ReadLimits) -> dict[str, Any]:
    """A results.json as ``report`` reads it: bounded, strict JSON, of the published schema."""
    from conformance.results.publish import load_results

    return load_results(path, limits)


def _diff_results(old: dict[str, Any], new: dict[str, Any]) -> DiffOutcome:
    """Findings that appeared (classified as the newer run classified them) or vanished, paired
    as ``conformance compare`` pairs them (``paired_findings``): by target, where both runs
    exercised the operation. ``api`` names the target (``kognitos @ staging`` in a merged file)."""
    changed: list[tuple[dict[str, Any], bool]] = []  # the finding, and whether it appeared
    for was, now in paired_findings(old, new):
        if was is None and now is not None:
            changed.append((now, True))
        elif now is None and was is not None:
            changed.append((was, False))
    changes = []
    for f, appeared in sorted(changed, key=lambda item: finding_identity(item[0])):
        changes.append(
            Change(
                target_of(f),
                f.get("operation", ""),
                f.get("status_code"),
                "finding-appeared" if appeared else "finding-vanished",
                f.get("location", ""),
                None if appeared else f.get("observed"),
                f.get("observed") if appeared else None,
                f.get("classification", "new") if appeared else "known",
                f.get("quirk"),
                f"{f.get('kind')}: {f.get('message', '')}",
            )
        )
    return DiffOutcome(changes, [])


def write_diff(outcome: DiffOutcome, directory: Path) -> Path:
    from conformance.results.files import ensure_writable, write_atomic

    ensure_writable(directory)
    path = directory / "diff.json"
    document = {
        "exit_code": outcome.exit_code,
        "changes": [asdict(change) for change in outcome.changes],
        "errors": outcome.errors,
    }
    write_atomic(path, strict_json(document, indent=2) + "\n")
    return path
