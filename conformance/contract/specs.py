"""Loading the hand-written OpenAPI specs: parsed, checked and validated once.

Validation is remembered across commands in the user's cache (a document that passed is not
validated again), and only references inside a spec are ever followed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from conformance.bounds import printable, read_text
from conformance.contract.extensions import check_lifecycle
from conformance.contract.model import HTTP_METHODS, Spec
from conformance.contract.schemas import nodes
from conformance.errors import SpecError
from conformance.usercache import cache_dir
from conformance.vendors.registry import ApiInfo, get_api

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: YAML aliases may make a document this many nodes larger than its text is long: a spec
#: repeats a schema by alias now and then, where a 1 KB "billion laughs" becomes 10**9 nodes
#: that every walk of the document (validation, references, the engine) would visit.
MAX_ALIASED_NODES = 100_000


def load_yaml(path: Path, error: type[Exception]) -> Any:
    """Parse a YAML file, turning every failure into ``error`` with a one-line cause."""
    return parse_yaml(read_text(path, error), path, error)


def parse_yaml(text: str, path: Path, error: type[Exception]) -> Any:
    """Parse the YAML text of ``path``, turning every failure into ``error`` with a one-line cause."""
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        problem = printable(str(getattr(exc, "problem", None) or "invalid YAML"))[:200]
        raise error(f"{path}: invalid YAML{where}: {problem}") from None
    except RecursionError:
        raise error(f"{path}: invalid YAML: nested too deeply") from None
    limit = len(text) + MAX_ALIASED_NODES
    if expanded_size(document, limit) > limit:
        raise error(f"{path}: invalid YAML: its aliases expand it to more than {limit} nodes (or loop)")
    return document


def expanded_size(document: Any, limit: int) -> int:
    """How many nodes ``document`` holds with each alias written out, counted without recursion
    and each shared node once (up to ``limit + 1``; an alias inside itself counts as more)."""
    sizes: dict[int, int] = {}
    walking: set[int] = set()
    pending: list[tuple[Any, bool]] = [(document, False)] if isinstance(document, dict | list) else []
    while pending:
        node, finished = pending.pop()
        children = list(node.values() if isinstance(node, dict) else node)
        if finished:
            walking.discard(id(node))
            sizes[id(node)] = min(limit + 1, 1 + sum(sizes.get(id(child), 1) for child in children))
        elif id(node) in walking:  # met again below itself: a loop
            return limit + 1
        elif id(node) not in sizes:
            walking.add(id(node))
            pending.append((node, True))
            pending += [(child, False) for child in children if isinstance(child, dict | list)]
    return sizes.get(id(document), 1)


def load_spec_file(api: ApiInfo, path: Path) -> Spec:
    """Parse and validate ``path`` as the spec of ``api``; any problem is a ``SpecError``.

    Only references inside the spec resolve (``#/...``): a ``$ref`` to a URL, a ``file://``
    URI or another file is refused before the validator runs, so reading a spec never fetches
    anything or reads another file, and the error quotes the reference, never a target."""
    text = read_text(path, SpecError)
    document = parse_yaml(text, path, SpecError)
    if not isinstance(document, dict):
        raise SpecError(f"{path}: not an OpenAPI document (top level is not a mapping)")
    check_references(document, path)
    validate_openapi(document, path, text)
    check_lifecycle(document.get("x-lifecycle"), _operation_ids(document), path)
    return Spec(api, document, path)


def validate_openapi(document: dict[str, Any], path: Path, text: str) -> None:
    """Validate ``document`` (parsed from ``text``) as OpenAPI, unless this very text has passed before.

    Validating the four bundled specs (and importing the validator) took a second of every
    command's start; a document that passed leaves a mark named by the digest of its text and the
    validator's version in the user's cache, so the next command skips it. A document that fails
    never leaves one, and a cache that cannot be written only costs the time again."""
    mark = _validation_mark(text)
    if mark is not None and mark.exists():
        return
    from openapi_spec_validator import validate  # a third of a second to import

    try:
        validate(document)
    except RecursionError:
        raise SpecError(f"{path}: invalid OpenAPI: nested too deeply") from None
    except Exception as exc:  # the validator raises several unrelated types, all meaning "invalid"
        raise SpecError(f"{path}: invalid OpenAPI: {_validation_problem(exc)}") from None
    if mark is not None:
        with contextlib.suppress(OSError):
            mark.touch()


def _validation_mark(text: str) -> Path | None:
    """Where a pass of the spec ``text`` is remembered, or ``None`` where it cannot be (no cache).

    The mark is named by the text as read, never by the parsed document written out again: a
    1 KB YAML alias bomb is a small text but a document of gigabytes."""
    directory = cache_dir("valid-openapi")
    if directory is None:
        return None
    validator = importlib.metadata.version("openapi-spec-validator")
    return directory / hashlib.sha256(f"{validator}\n{text}".encode()).hexdigest()


def check_references(document: Any, path: Path) -> None:
    """Refuse any ``$ref`` that leaves the spec: only ``#/...`` pointers into it are allowed."""
    for pointer, node in nodes(document):
        if not isinstance(node, dict) or "$ref" not in node:
            continue
        reference = node["$ref"]
        if not isinstance(reference, str) or not reference.startswith("#"):
            shown = printable(str(reference))[:200]
            raise SpecError(
                f"{path}: $ref {shown!r} at {printable(pointer)[:200] or '/'} leaves the spec; only "
                "references inside it (#/...) are read, nothing is fetched"
            )


def _operation_ids(document: dict[str, Any]) -> set[str]:
    """The ``operationId`` of every operation in the document."""
    found: set[str] = set()
    for item in (document.get("paths") or {}).values():
        for method in HTTP_METHODS if isinstance(item, dict) else ():
            operation_id = (item.get(method) or {}).get("operationId")
            if isinstance(operation_id, str):
                found.add(operation_id)
    return found


def _validation_problem(error: Exception) -> str:
    """The validator's complaint in one short line (a broken ``$ref`` message quotes the whole document)."""
    message = getattr(error, "message", None) or next(iter(str(error).splitlines()), "")
    message = message.split(" does not exist within {", 1)[0] + (
        " does not exist" if " does not exist within {" in message else ""
    )
    if not message:
        return "no supported 'openapi' version (expected 3.0.x or 3.1.x)"
    return message if len(message) <= 300 else message[:297] + "..."


@cache
def load_spec(name: str) -> Spec:
    """The bundled spec of API ``name`` (parsed and validated once per process)."""
    api = get_api(name)
    return load_spec_file(api, api.spec_path)
