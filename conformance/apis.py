"""The four process-run APIs the suite knows, and where their artifacts live."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

SPECS_DIR = Path(__file__).resolve().parent.parent / "specs"
#: Points the suite at another copy of ``specs/`` (a spec under review, a broken one in a test).
SPECS_DIR_ENV = "CONFORMANCE_SPECS_DIR"


def specs_dir() -> Path:
    """Where specs and ``quirks/`` are read from: ``$CONFORMANCE_SPECS_DIR``, else the bundled ``specs/``."""
    return Path(os.environ.get(SPECS_DIR_ENV) or SPECS_DIR)


@dataclass(frozen=True)
class ApiInfo:
    """Static facts about one vendor API."""

    name: str
    title: str
    credential_env: str
    auth_header: str
    auth_prefix: str
    #: Query parameter that carries the credential on some operations (Robocorp's integrations start).
    token_query: str | None = None

    @property
    def spec_path(self) -> Path:
        return specs_dir() / f"{self.name}.yaml"

    @property
    def quirks_path(self) -> Path:
        return specs_dir() / "quirks" / f"{self.name}.yaml"

    def auth_headers(self, token: str) -> dict[str, str]:
        """Headers that carry ``token`` in this vendor's documented scheme."""
        return {self.auth_header: f"{self.auth_prefix}{token}"}

    def credential_parameters(self, token: str) -> dict[str, str]:
        """Parameter overrides that put ``token`` where an operation takes it outside the headers."""
        return {f"query.{self.token_query}": token} if self.token_query else {}


APIS: dict[str, ApiInfo] = {
    info.name: info
    for info in (
        ApiInfo("solvexia", "SolveXia Process Run APIs", "SOLVEXIA_TOKEN", "Authorization", "Bearer "),
        ApiInfo(
            "robocorp",
            "Robocorp Control Room ProcessRunApi",
            "ROBOCORP_API_KEY",
            "Authorization",
            "RC-WSKEY ",
            token_query="token",
        ),
        ApiInfo("kognitos", "Kognitos REST API v2 - Runs", "KOGNITOS_API_KEY", "x-api-key", ""),
        ApiInfo(
            "automation_runs", "Automation Runs API", "AUTOMATION_RUNS_API_KEY", "Authorization", "Bearer "
        ),
    )
}


def get_api(name: str) -> ApiInfo:
    """Look an API up by name, with a message that lists the valid names."""
    try:
        return APIS[name]
    except KeyError:
        raise UsageError(f"unknown API {name!r}; choose from: {', '.join(APIS)}") from None


def resolve_apis(names: list[str] | None) -> list[ApiInfo]:
    """All APIs when ``names`` is empty, else the named ones in the order given."""
    if not names:
        return list(APIS.values())
    return [get_api(name) for name in dict.fromkeys(names)]
