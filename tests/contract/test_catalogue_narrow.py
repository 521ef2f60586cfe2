"""Every catalogue entry excuses exactly what its document shows, nothing beside it.

The cases are built from the catalogues themselves: for each entry that can show in traffic,
the deviation it documents (in the exchange it documents) must be ``known``, and each mutation
just beside it (another member of the same object, another operation of the API, another value,
another status, another request, an object that shows only part of what the document shows
together) must not be matched by that entry. A new entry is covered without a new line here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import jsonpointer
import pytest

from conformance.contract.catalogue import Catalogue, Exchange, Manifest, Quirk, load_catalogue
from conformance.contract.model import Spec
from conformance.contract.specs import load_spec
from conformance.findings import Deviation
from conformance.judge.classify import classify
from conformance.judge.resolved import QuirkSightings, response_side
from conformance.kinds import Classification, Compare, kind_of, observable_kinds
from conformance.vendors.registry import APIS

#: A member name no contract and no document uses: always "another field of the same object".
UNLISTED = "unlistedMember"


@dataclass(frozen=True)
class Case:
    """One deviation in one exchange, and whether ``quirk`` must excuse it."""

    name: str
    api: str
    quirk: str
    deviation: Deviation
    exchange: Exchange
    excused: bool


def _parts(location: str) -> list[str]:
    return jsonpointer.JsonPointer(location).parts if location.startswith("/") else []


def _wrap(parts: list[str], node: Any) -> Any:
    """A body holding ``node`` at ``parts`` (``*``: an item of an array)."""
    for part in reversed(parts):
        node = [node] if part == "*" else {part: node}
    return node


def _holder(manifest: Manifest, deviation: Deviation, member: str) -> dict[str, Any]:
    """The object the document shows: the deviation's member as the deviation has it, with the
    members the entry's condition says it has and without those it says it lacks."""
    holder: dict[str, Any] = {name: "x" for name in manifest.when.present if name != member}
    if deviation.kind == "field-name-alias":
        holder[str(deviation.observed)] = 1
    elif deviation.kind != "missing-field":
        compare = kind_of(deviation.kind).compare
        holder[member] = "x" if compare is Compare.LOCATION else deviation.observed
    return holder


def _request(manifest: Manifest) -> Any:
    body: dict[str, Any] = {}
    for pointer, value in manifest.when.request:
        _set(body, pointer, value)
    return body or None


def _set(body: dict[str, Any], pointer: str, value: Any) -> None:
    *parents, last = jsonpointer.JsonPointer(pointer).parts
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def _exchange(manifest: Manifest, deviation: Deviation, holder: dict[str, Any] | None = None) -> Exchange:
    parts = _parts(deviation.location)
    if not parts:
        return Exchange(_request(manifest), {})
    node = _holder(manifest, deviation, parts[-1]) if holder is None else holder
    return Exchange(_request(manifest), _wrap(parts[:-1], node))


def _values(manifest: Manifest, member: str) -> tuple[Any, Any]:
    """Expected and observed as the checks word them for this kind."""
    if manifest.kind == "missing-field":
        return member, None
    if manifest.kind == "extra-field":
        return None, member
    return manifest.contract, manifest.documented


def _beside(value: Any) -> list[Any]:
    """Values just beside ``value``: same type where it has one, and another type."""
    if isinstance(value, str):
        near: list[Any] = [value + "Z", value[:-1], 1]
    elif isinstance(value, bool) or value is None:
        near = ["x"]
    elif isinstance(value, (int, float)):
        near = [value + 1, str(value)]
    elif isinstance(value, dict):
        near = [{**value, "x": 1}, [value]]
    else:
        near = [[*value, "x"], "x"]
    return [other for other in near if other != value]


@cache
def _spec(api: str) -> Spec:
    return load_spec(api)


def _request_alternatives(spec: Spec, operation: str, pointer: str, value: Any) -> list[Any]:
    """Other values the contract allows at ``pointer`` of the request body (its enum), and one it does not."""
    node = spec.resolve(spec.operations[operation].definition.get("requestBody", {}))
    node = spec.resolve((node.get("content", {}).get("application/json") or {}).get("schema", {}))
    for part in jsonpointer.JsonPointer(pointer).parts:
        node = spec.resolve((node.get("properties") or {}).get(part, {}))
    return [other for other in node.get("enum", []) if other != value] + [f"{value}-other", None]


def _triples(quirk: Quirk) -> set[tuple[str, str, str]]:
    return {(m.kind, op, loc) for m in quirk.observable for op in m.operations for loc in m.locations}


def _siblings(catalogue: Catalogue, manifest: Manifest, location: str) -> set[str]:
    """Other members of the object ``location`` is in, as the catalogue and the entry name them."""
    parent = location.rsplit("/", 1)[0]
    names = {UNLISTED, *manifest.when.absent, *manifest.when.present}
    for quirk in catalogue.quirks:
        for other in (*quirk.locations, *(loc for m in quirk.observable for loc in m.locations)):
            if other.startswith("/") and other.rsplit("/", 1)[0] == parent:
                names.add(other.rsplit("/", 1)[-1])
    return names


def _mutations(
    api: str, quirk: Quirk, manifest: Manifest, base: Deviation
) -> list[tuple[str, Deviation, Exchange]]:
    """Deviations just beside ``base``, each in the exchange that shows it."""
    spec, catalogue, allowed = _spec(api), load_catalogue(api), _triples(quirk)
    found: list[tuple[str, Deviation, Exchange]] = []
    if base.location.startswith("/"):
        parent = base.location.rsplit("/", 1)[0]
        for name in sorted(_siblings(catalogue, manifest, base.location)):
            moved = replace(base, location=f"{parent}/{name}")
            if (base.kind, base.operation, moved.location) not in allowed:
                expected, observed = _values(manifest, name)
                moved = replace(moved, expected=expected, observed=observed)
                found.append((f"field {name}", moved, _exchange(manifest, moved)))
    for operation in sorted(spec.operations):
        if (base.kind, operation, base.location) not in allowed:
            moved = replace(base, operation=operation)
            found.append((f"operation {operation}", moved, _exchange(manifest, moved)))
    documented = {
        int(code) for code in spec.operations[base.operation].definition["responses"] if code.isdigit()
    }
    for status in sorted((documented | {200, 500}) - set(quirk.status_codes)):
        found.append((f"status {status}", replace(base, status_code=status), _exchange(manifest, base)))
    if kind_of(base.kind).compare is not Compare.LOCATION:
        for value in _beside(base.observed):
            moved = replace(base, observed=value)
            found.append((f"observed {value!r}", moved, _exchange(manifest, moved)))
        for value in _beside(base.expected):
            found.append((f"expected {value!r}", replace(base, expected=value), _exchange(manifest, base)))
    found += _condition_mutations(api, manifest, base)
    return found


def _condition_mutations(
    api: str, manifest: Manifest, base: Deviation
) -> list[tuple[str, Deviation, Exchange]]:
    """The exchange beside the documented one: another request, an object that shows only part
    of what the document shows together, or that object beside another that shows less."""
    found: list[tuple[str, Deviation, Exchange]] = []
    exchange = _exchange(manifest, base)
    for pointer, value in manifest.when.request:
        for other in _request_alternatives(_spec(api), base.operation, pointer, value):
            body = dict(exchange.request or {})
            _set(body, pointer, other)
            found.append((f"request {pointer}={other!r}", base, replace(exchange, request=body)))
        found.append(("no request body", base, replace(exchange, request=None)))
    parts = _parts(base.location)
    if not parts:
        return found
    holder = _holder(manifest, base, parts[-1])
    for name in manifest.when.absent:
        if name != parts[-1]:
            found.append((f"object has {name}", base, _exchange(manifest, base, {**holder, name: "x"})))
    for name in manifest.when.present:
        less = {key: value for key, value in holder.items() if key != name}
        found.append((f"object lacks {name}", base, _exchange(manifest, base, less)))
    if (manifest.when.absent or manifest.when.present) and "*" in parts[:-1]:
        partial = {k: v for k, v in holder.items() if k == parts[-1] or k not in manifest.when.present}
        partial.update({name: "x" for name in manifest.when.absent if name != parts[-1]})
        both = _wrap(parts[:-1], holder)
        _first_array(both).append(partial)
        found.append(("beside a partial object", base, replace(exchange, response=both)))
    return found


def _first_array(body: Any) -> list[Any]:
    while not isinstance(body, list):
        body = next(iter(body.values()))
    return body


def _entry_cases(api: str, quirk: Quirk) -> list[Case]:
    cases = []
    status = quirk.status_codes[0] if quirk.status_codes else 200
    for manifest in quirk.observable:
        for operation in manifest.operations:
            for location in manifest.locations:
                expected, observed = _values(manifest, location.rsplit("/", 1)[-1])
                base = Deviation(api, operation, status, location, manifest.kind, expected, observed)
                where = f"{quirk.id} {manifest.kind} {operation} {location}"
                cases.append(Case(where, api, quirk.id, base, _exchange(manifest, base), True))
                cases += [
                    Case(f"{where} / {what}", api, quirk.id, deviation, exchange, False)
                    for what, deviation, exchange in _mutations(api, quirk, manifest, base)
                ]
    return cases


def _cases() -> list[Case]:
    return [
        case
        for api in APIS
        for quirk in load_catalogue(api).quirks
        if quirk.observable
        for case in _entry_cases(api, quirk)
    ]


DOCUMENTS_ONLY = [(api, q) for api in APIS for q in load_catalogue(api).quirks if not q.observable]


CASES = _cases()


@pytest.mark.parametrize("case", [c for c in CASES if c.excused], ids=lambda c: c.name)
def test_the_documented_deviation_is_known(case: Case) -> None:
    catalogue = load_catalogue(case.api)
    assert catalogue.by_id[case.quirk].matches(case.deviation, case.exchange)
    finding = classify(case.deviation, catalogue, exchange=case.exchange)
    assert finding.classification is Classification.KNOWN
    assert finding.quirk == case.quirk


@pytest.mark.parametrize("case", [c for c in CASES if not c.excused], ids=lambda c: c.name)
def test_a_deviation_beside_it_is_not_excused_by_the_entry(case: Case) -> None:
    assert not load_catalogue(case.api).by_id[case.quirk].matches(case.deviation, case.exchange)


@pytest.mark.parametrize(("api", "quirk"), DOCUMENTS_ONLY, ids=lambda v: getattr(v, "id", ""))
def test_an_entry_that_lives_in_the_documents_matches_nothing_in_traffic(api: str, quirk: Quirk) -> None:
    """Whatever kind, operation or place: such an entry explains the documents, never a response."""
    entry = load_catalogue(api).by_id[quirk.id]
    for operation in quirk.operations or sorted(_spec(api).operations):
        for location in quirk.locations or [""]:
            for kind in observable_kinds():
                deviation = Deviation(api, operation, 200, location, kind, quirk.contract, quirk.documented)
                assert not entry.matches(deviation, Exchange()), (kind, operation, location)


def test_every_entry_is_covered() -> None:
    seen = {(case.api, case.quirk) for case in CASES}
    assert seen | {(api, q.id) for api, q in DOCUMENTS_ONLY} == {
        (api, quirk.id) for api in APIS for quirk in load_catalogue(api).quirks
    }
    for _, quirk in seen:
        assert any(c.quirk == quirk and c.excused for c in CASES), quirk
        assert any(c.quirk == quirk and not c.excused for c in CASES), quirk


@pytest.mark.parametrize(
    "quirk", [q for api in APIS for q in load_catalogue(api).quirks if q.observable], ids=lambda q: q.id
)
def test_an_entry_seen_in_traffic_names_its_status(quirk: Quirk) -> None:
    assert quirk.status_codes, f"{quirk.id} would excuse its deviation in an answer of any status"


def _sightings_cases() -> list[tuple[str, str, Quirk, Manifest, str, str]]:
    return [
        (f"{quirk.id} {op} {loc}", api, quirk, manifest, op, loc)
        for api in APIS
        for quirk in load_catalogue(api).quirks
        if response_side(quirk)
        for manifest in quirk.observable
        for op in manifest.operations
        for loc in manifest.locations
    ]


@pytest.mark.parametrize(
    ("name", "api", "quirk", "manifest", "operation", "location"),
    _sightings_cases(),
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_resolved_counts_only_answers_the_entry_could_apply_to(
    name: str, api: str, quirk: Quirk, manifest: Manifest, operation: str, location: str
) -> None:
    """A fixed place is evidence only in an answer of the entry's status to the request it documents."""
    parts = _parts(location)
    body = _wrap(parts[:-1], {parts[-1]: "fixed"}) if parts else {}
    request = _request(manifest)

    def seen(status: int, sent: Any) -> int:
        sightings = QuirkSightings(load_catalogue(api))
        sightings.observe(operation, status, Exchange(sent, body))
        return sightings.seen[quirk.id]

    assert seen(quirk.status_codes[0], request) == 1, name
    assert seen(599, request) == 0
    for pointer, value in manifest.when.request:
        for other in _request_alternatives(_spec(api), operation, pointer, value):
            changed = dict(request)
            _set(changed, pointer, other)
            assert seen(quirk.status_codes[0], changed) == 0, other
