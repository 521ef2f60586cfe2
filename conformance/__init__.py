"""Contract-testing and conformance suite for process-run APIs.

The Python API the CLI is a thin shell over: ``run(RunOptions(...))`` checks APIs and returns a
``RunResult``; ``replay`` judges recorded cassettes the same way; ``write_results`` turns either
into ``results.json`` and ``junit.xml``. What fails them is a ``FailPolicy``
(``RunOptions(fail_on=FailPolicy.parse("any,resolved"))``). They are imported on first use, so
``import conformance`` stays light (the test engine loads only with ``run``).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"
__all__ = [
    "FailPolicy",
    "RunOptions",
    "RunResult",
    "__version__",
    "replay",
    "run",
    "versions",
    "write_results",
]

#: The libraries that generate the cases and judge the answers: a night judged by other versions
#: of them may differ from the last for that reason alone.
JUDGING_LIBRARIES = ("schemathesis", "hypothesis", "jsonschema")


def versions() -> dict[str, str]:
    """conformance's version and the installed judging libraries' (``--version``, results.json)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"conformance": __version__}
    for name in JUDGING_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


_EXPORTS = {
    "FailPolicy": "conformance.findings",
    "RunOptions": "conformance.engine.options",
    "RunResult": "conformance.results.model",
    "run": "conformance.engine.runner",
    "replay": "conformance.cassettes.replay",
    "write_results": "conformance.results.document",
}


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'conformance' has no attribute {name!r}")
