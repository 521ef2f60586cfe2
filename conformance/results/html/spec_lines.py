"""Where a spec makes the statement an assumption finding contradicts: its file, line and JSON
pointer, so the report links the reason's source as it links a vendor's page for the others.

No document states an assumption, so the spec is its only source; the bundled spec of the
finding's API is read (a results file names the API, never a path to open).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jsonpointer
import yaml

from conformance.contract.specs import load_spec
from conformance.errors import ConformanceError


@dataclass(frozen=True)
class SpecLine:
    """A statement of a spec: ``path`` as the repository names it (``specs/kognitos.yaml``), its
    line, its JSON pointer and the file's URI."""

    path: str
    line: int
    pointer: str
    url: str


def spec_line(api: str, operation: str, reason: str | None) -> SpecLine | None:
    """The statement of ``api``'s spec whose ``x-assumption`` is ``reason``, the one inside
    ``operation`` first; for an assumption the spec makes no statement of (a status RFC 9110
    implies), the operation's responses. ``None`` for an API this suite does not bundle."""
    try:
        spec = load_spec(api)
    except (ConformanceError, OSError):
        return None
    pointers = spec.assumptions().get(reason or "", [])
    own = spec.operations.get(operation)
    inside = [pointer for pointer in pointers if own and pointer.startswith(own.pointer + "/")]
    pointer = next(iter(inside or pointers), f"{own.pointer}/responses" if own else None)
    if pointer is None:
        return None
    source = spec.source.resolve()
    return SpecLine(
        path=f"{source.parent.name}/{source.name}",
        line=_line(source, pointer),
        pointer=pointer,
        url=source.as_uri(),
    )


def _line(source: Path, pointer: str) -> int:
    """The line that writes the member ``pointer`` names, or its nearest written ancestor (an
    ``x-lifecycle`` assumption's pointer names its part, not the ``assumptions`` member)."""
    node, line = _composed(source), 1
    for part in jsonpointer.JsonPointer(pointer).parts:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == part), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


@cache
def _composed(source: Path) -> yaml.Node | None:
    """The spec's YAML as nodes, which keep their lines (parsed once per process)."""
    return yaml.compose(source.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
