"""Planted breaks: each one contradicts a promise the Kognitos Runs documents actually make."""

from __future__ import annotations

from dataclasses import dataclass

_PAGE = (
    "Kognitos REST API v2 > Runs (https://docs.kognitos.com/rest-api/v2/runs; "
    "URL, the API it documents is https://rest-api.app.kognitos.com/v2)"
)
_OPENAPI = (
    "OpenAPI 3.1.0 fragment 'Kognitos REST API v2' 2.0.0 embedded in the same page "
    "(the OpenAPI fragment behind https://docs.kognitos.com/rest-api/v2/runs; API https://rest-api.app.kognitos.com/v2)"
)


@dataclass(frozen=True)
class Break:
    """One planted break: what it does, where it shows, and the documented sentence it contradicts."""

    description: str
    operation: str
    location: str
    promise: str


BREAKS: dict[str, Break] = {
    "rename_created_at": Break(
        "Get Run sends the creation time as `createdAt` instead of `created_at`.",
        "GET /runs/{run_id}",
        "/created_at",
        f"{_PAGE}, section 'Get Run', 200 'The requested run': "
        "'created_at string · date-time Required — Date and time created'.",
    ),
    "file_ids_as_string": Break(
        "Get Run sends `file_ids` as one comma-separated string instead of an array of strings.",
        "GET /runs/{run_id}",
        "/file_ids",
        f"{_PAGE}, section 'Get Run', 200: 'file_ids any of Optional — List of IDs of files given as "
        "input to the process — string[] Optional or null Optional'.",
    ),
    "error_status_code_as_string": Break(
        'Error bodies carry `status_code` as a string ("404") instead of an integer.',
        "GET /runs/{run_id}",
        "/status_code",
        f"{_OPENAPI}: '`ErrorModel`: `message` (string), `status_code` (integer), `details` (array of "
        "error details, or null)'.",
    ),
    "list_drops_agent_id": Break(
        "List Runs leaves `agent_id` out of every item (Get Run still sends it).",
        "GET /runs",
        "/items/0/agent_id",
        f"{_PAGE}, section 'List Runs', 200 'A List of runs' lists runs; a run has "
        "'agent_id string · min: 1 · max: 26 Required — The ID of the process's agent' (section 'Get Run').",
    ),
    "last_page_omits_continuation_token": Break(
        "List Runs leaves `continuation_token` out of the body on the last page instead of sending null.",
        "GET /runs",
        "/continuation_token",
        f"{_PAGE}, section 'List Runs', 200: 'continuation_token any of Required — string Optional or null "
        "Optional'; {_OPENAPI}: '`ListResponse`: `continuation_token` (string or null) and `items` (array "
        "or null), both required'.",
    ),
    "stage_lowercase": Break(
        "Runs report their stage in lower case (`draft`, `published`).",
        "GET /runs/{run_id}",
        "/stage",
        f"{_PAGE}, section 'Get Run', 200: 'stage string · enum Required — The stage of the process — "
        f"Example: Draft'; {_OPENAPI}: '`ProcessStage`: string enum `Draft | Published`'.",
    ),
    "stage_filter_ignored": Break(
        "List Runs ignores the `stage` query parameter and lists runs of both stages.",
        "GET /runs",
        "/items",
        f"{_PAGE}, section 'List Runs', query parameters: 'stage any of Optional — The process stage. "
        "string · enum Optional — Stage of a process'.",
    ),
    "limit_ignored": Break(
        "List Runs ignores `limit` and always answers pages of the default size, 10.",
        "GET /runs",
        "/items",
        f"{_PAGE}, section 'List Runs', query parameters: 'limit any of Optional — Maximum number of items "
        "to return. Default: 10 — integer · max: 100'.",
    ),
    "process_filter_ignored": Break(
        "List Runs ignores `process_id` and lists the runs of every process of the agent.",
        "GET /runs",
        "/items",
        f"{_PAGE}, section 'List Runs': 'Get a list of all the runs for a specified process and agent.' "
        "and 'process_id string Required — The unique identifier of the process.'",
    ),
    "continuation_token_ignored": Break(
        "List Runs ignores `continuation_token` and answers the first page again.",
        "GET /runs",
        "/items",
        f"{_PAGE}, section 'List Runs', query parameters: 'continuation_token — Pagination token used to "
        "retrieve the next page of results. It is returned in a prior response from a call made to this "
        "endpoint.'",
    ),
    "duplicate_items": Break(
        "List Runs repeats the first run of every non-empty page at the end of the page.",
        "GET /runs",
        "/items",
        f"{_PAGE}, section 'List Runs': 'Get a list of all the runs for a specified process and agent.'; "
        "each run has its own 'id — The ID of the resource' (section 'Get Run').",
    ),
    "get_run_500": Break(
        "Get Run answers 500 with an ErrorModel for runs that exist.",
        "GET /runs/{run_id}",
        "status",
        f"{_PAGE}, section 'Get Run': 'Get the details of a specific run.' "
        "Responses: '200 The requested run'.",
    ),
    "auth_not_enforced": Break(
        "Every operation answers as if authorised when `x-api-key` is missing or wrong.",
        "GET /runs",
        "status",
        f"{_PAGE}, sections 'List Runs', 'Start a Run', 'Get Run': 'Authorizations x-api-key string "
        f"Required'; {_OPENAPI}: 'Security: API key in header `x-api-key`'.",
    ),
    "long_run_ids": Break(
        "Runs started through the API get 36-character ids, longer than the documented maximum of 26.",
        "GET /runs/{run_id}",
        "/id",
        f"{_PAGE}, section 'Get Run', 200: 'id string · min: 1 · max: 26 Required — The ID of the "
        "resource — Pattern: ^[a-zA-Z0-9-_]+$'.",
    ),
}


def check(names: tuple[str, ...]) -> frozenset[str]:
    """The set of break names, refusing names that are not planted so typos fail loudly."""
    unknown = sorted(set(names) - set(BREAKS))
    if unknown:
        raise ValueError(f"unknown breaks: {unknown}; known: {sorted(BREAKS)}")
    return frozenset(names)
