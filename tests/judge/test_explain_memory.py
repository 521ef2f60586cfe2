"""Explanations remembered by error shape (``Spec.error_shape``) are the explanations the Python
validator gives each body afresh: the same findings on the committed recordings and on mutants
of them (renamed, removed, nulled, re-typed and re-cased members, members added). Bodies read and
profiled from memory (``ResponseContext.parsed``, the profile's kept walks) give the results of
bodies each read and walked afresh."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.cassettes.replay import replay
from conformance.contract.model import Spec
from conformance.judge import context
from conformance.results.document import results_document

RECORDINGS = Path(__file__).resolve().parents[2] / "cassettes" / "mocks"


def _members(body: Any, pointer: str = "") -> list[str]:
    """Every member's pointer in ``body``, depth first."""
    if isinstance(body, dict):
        return [
            p
            for name, value in body.items()
            for p in [f"{pointer}/{name}", *_members(value, f"{pointer}/{name}")]
        ]
    if isinstance(body, list):
        return [p for index, value in enumerate(body) for p in _members(value, f"{pointer}/{index}")]
    return []


def _mutate(body: Any, pointer: str, how: str) -> None:
    *parents, name = pointer.split("/")[1:]
    node = body
    for token in parents:
        node = node[int(token)] if isinstance(node, list) else node[token]
    if not isinstance(node, dict):
        return
    value = node[name]
    if how == "rename":
        node[name + "Value"] = node.pop(name)
    elif how == "remove":
        del node[name]
    elif how == "null":
        node[name] = None
    elif how == "retype":
        node[name] = str(value) if not isinstance(value, str) else 7
    elif how == "recase" and isinstance(value, str):
        node[name] = value.upper()
    elif how == "add":
        node[name + "_extra"] = True


def _mutants(seed: int) -> list[dict[str, Any]]:
    """The committed interactions, each JSON body also once per mutation at a random member."""
    chooser = random.Random(seed)
    mutants = []
    for path in sorted(RECORDINGS.glob("*.yaml")):
        for interaction in parse_document(path)["interactions"]:
            mutants.append(interaction)
            text = interaction["response"]["body"]["string"]
            if not text.startswith(("{", "[")):
                continue
            for how in ("rename", "remove", "null", "retype", "recase", "add"):
                body = json.loads(text)
                members = _members(body)
                if members:
                    _mutate(body, chooser.choice(members), how)
                mutant = copy.deepcopy(interaction)
                mutant["response"]["body"]["string"] = json.dumps(body)
                mutants.append(mutant)
    return mutants


def _findings(folder: Path, interactions: list[dict[str, Any]], spacing: str) -> list[dict[str, Any]]:
    """The findings of a replay; ``spacing`` after each body keeps a body apart from the same
    body judged before (the checks remember bodies by their bytes)."""
    for interaction in interactions:
        body = interaction["response"]["body"]
        body["string"] = body["string"].rstrip(" ") + spacing
    cassette = folder / f"replay{len(spacing)}.yaml"
    write_cassette(cassette, interactions)
    result, unattributed = replay([cassette])
    assert not unattributed
    findings = [finding.to_dict() for finding in result.findings]
    assert findings
    return findings


@pytest.mark.parametrize("seed", [1, 2])
def test_remembered_explanations_are_the_explanations_of_each_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    interactions = _mutants(seed)
    with monkeypatch.context() as patched:
        patched.setattr(Spec, "error_shape", lambda self, pointer, instance: None)
        afresh = _findings(tmp_path, interactions, " ")
    remembered = _findings(tmp_path, interactions, "  ")
    assert remembered == afresh


def test_bodies_read_and_profiled_from_memory_give_the_results_of_each_read_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interactions = _mutants(3) * 3  # every body three times: read, kept, then taken from memory
    cassette = tmp_path / "repeated.yaml"
    write_cassette(cassette, interactions)

    def results() -> dict[str, Any]:
        result, unattributed = replay([cassette])
        assert not unattributed
        document = results_document(result)
        for api in document["apis"]:
            api.pop("duration_s")
        return {key: document[key] for key in ("findings", "apis", "summary")}

    remembered = results()
    with monkeypatch.context() as patched:
        patched.setattr(context, "REMEMBERED_BODY_BYTES", -1)  # no body is small enough to remember
        afresh = results()
    assert remembered == afresh
    assert remembered["findings"] and all(api["operations"] for api in remembered["apis"])
