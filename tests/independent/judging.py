"""Nights against the independent servers: each server started on loopback as its vendor's tenant
(the ids the specs' examples name, as a team sets its own), judged by ``conformance run`` with
the budget a test can afford, or the budget a planted break needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from conformance.engine.options import RunOptions
from conformance.engine.runner import run
from conformance.results.model import RunResult

#: Each server is set up as the tenant the spec's examples name: a real tenant's ids would be given
#: to the suite instead, the same way.
TENANTS: dict[str, dict[str, str]] = {
    "kognitos": {
        "agent_id": "b4fznghynbdemslfd5k044fgd",
        "process_id": "b4fznghynbdemslfd5k044fgd",
        "completed_run_id": "b4fznghynbdemslfd5k044fgd",
    },
    "robocorp": {
        "workspace_id": "workspace_id_example",
        "process_id": "process_id_example",
        "completed_run_id": "process_run_id_example",
    },
}
#: The budget of a planted break's night: the documents' examples, the lifecycle, the list walks
#: and the credential probes (the phases a break needs are added where it needs them). The servers'
#: runs end within 2 s; polled from 0.05 s doubling, a run is read at 3.15 s and 6.35 s still, and a
#: run a break keeps from ending is given up at 6.35 s (20 s waited until 12.75 s for no finding a
#: test looks for: the breaks it catches are seen at other calls).
QUICK: dict[str, Any] = {
    "max_examples": 5,
    "seed": 1,
    "phases": ("examples",),
    "lifecycle_timeout": 8.0,
    "poll_interval": 0.05,
}
#: The servers' own pace: a step of a run every 0.2 s.
STEP_SECONDS = 0.2


@dataclass(frozen=True)
class Caught:
    """Where a planted break must show as new breaking drift, and what more it needs than ``QUICK``
    (``step_seconds`` among them: the server's pace)."""

    operation: str
    location: str
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


@contextmanager
def served(api: str, breaks: tuple[str, ...] = (), step_seconds: float = STEP_SECONDS) -> Iterator[Any]:
    """The independent server of ``api``, with ``breaks`` planted, as the spec's tenant, its runs
    taking a step every ``step_seconds``."""
    serve = import_module(f"tests.independent.{api}.serving").serve
    with serve(breaks=breaks, step_seconds=step_seconds, **TENANTS.get(api, {})) as it:
        yield it


def credentials(api: str, server: Any) -> dict[str, str]:
    """What a nightly job holds: SolveXia's OAuth client (the run signs in), else the API key."""
    given = server.credentials
    if api == "solvexia":
        return {"client_id": given["client_id"], "client_secret": given["client_secret"]}
    return {"token": given["token"]}


def night(
    api: str, breaks: tuple[str, ...] = (), step_seconds: float = STEP_SECONDS, **options: Any
) -> RunResult:
    """One ``conformance run`` of ``api`` against its independent server (run at ``step_seconds``)."""
    with served(api, breaks, step_seconds) as server:
        settings = {**QUICK, **options}
        return run(RunOptions(apis=[api], base_url=server.base_url, **credentials(api, server), **settings))


def breaking(result: RunResult) -> set[tuple[str, str, str]]:
    """``(operation, location, kind)`` of every new breaking finding."""
    return {
        (f.operation, f.location, f.kind)
        for f in result.findings
        if str(f.classification) == "new" and str(f.severity) == "breaking"
    }
