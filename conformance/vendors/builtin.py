"""The four built-in vendors, declared as any team declares its own (``ApiInfo``), and registered
under the ``conformance.vendors`` entry point group in ``pyproject.toml``."""

from __future__ import annotations

from conformance.vendors.registry import ApiInfo, Carrier, OAuth

_DOCUMENTED = "conformance.cassettes.documented"

SOLVEXIA = ApiInfo(
    "solvexia",
    "SolveXia Process Run APIs",
    "SOLVEXIA_TOKEN",
    (Carrier("header", "Authorization", "Bearer "),),
    mock="conformance.mocks.solvexia:Mock",
    examples=f"{_DOCUMENTED}:solvexia_examples",
    # a nightly job has a client id and secret: the run asks POST /oauth/token for the bearer token
    oauth=OAuth("requestToken", "SOLVEXIA_CLIENT_ID", "SOLVEXIA_CLIENT_SECRET"),
)
ROBOCORP = ApiInfo(
    "robocorp",
    "Robocorp Control Room ProcessRunApi",
    "ROBOCORP_API_KEY",
    # the integrations start takes the key in its ``token`` query parameter instead
    (Carrier("header", "Authorization", "RC-WSKEY "), Carrier("query", "token")),
    mock="conformance.mocks.robocorp:Mock",
    # Asana's webhook handshake secret, echoed by the integrations start
    secret_names=("X-Hook-Secret",),
)
KOGNITOS = ApiInfo(
    "kognitos",
    "Kognitos REST API v2 - Runs",
    "KOGNITOS_API_KEY",
    (Carrier("header", "x-api-key"),),
    mock="conformance.mocks.kognitos:Mock",
    examples=f"{_DOCUMENTED}:kognitos_examples",
)
AUTOMATION_RUNS = ApiInfo(
    "automation_runs",
    "Automation Runs API",
    "AUTOMATION_RUNS_API_KEY",
    (
        Carrier("header", "Authorization", "Bearer "),
        Carrier("header", "X-API-Key"),
        Carrier("cookie", "vai_token"),
    ),
    mock="conformance.mocks.automation_runs:Mock",
    examples=f"{_DOCUMENTED}:automation_runs_examples",
)
