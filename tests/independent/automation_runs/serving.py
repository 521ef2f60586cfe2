"""Serve the Automation Runs service over real HTTP for a block of code, breaks and ids chosen."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from ..serving import serve as serve_app
from .app import PREFIX, create_app
from .store import DEFAULT_IDS, Ids

TOKEN = "automation-runs-independent-token"


@dataclass(frozen=True)
class Served:
    """Where the service listens (prefix included), the credential it takes and the ids it uses."""

    base_url: str
    credentials: dict[str, str]
    ids: Ids


@contextmanager
def serve(*, breaks: Iterable[str] = (), step_seconds: float = 0.2, **ids: str) -> Iterator[Served]:
    """Build a freshly seeded app with ``breaks`` on and ``ids`` (see :class:`Ids`) and serve it."""
    chosen = replace(DEFAULT_IDS, **ids)
    app = create_app(TOKEN, step_seconds=step_seconds, breaks=breaks, ids=chosen)
    with serve_app(app, prefix=PREFIX) as base_url:
        yield Served(base_url, {"token": TOKEN}, chosen)
