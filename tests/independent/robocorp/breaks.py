"""Planted breaks: each one contradicts a promise the Robocorp documents really make."""

from __future__ import annotations

from dataclasses import dataclass

#: Public home of the seed page (the generated client's ``ProcessRunApi.md``, byte-identical).
SEED_URL = (
    "https://github.com/robocorp/robocorp/blob/63742be18fc392a4ecdf37e9bf17345c50f1409e/"
    "workspace/src/robocorp/workspace/docs/ProcessRunApi.md"
)
#: The vendor's OpenAPI 3.0.0 "Robocorp Control Room API" 1.0 document.
NOTES = (
    "https://github.com/robocorp/robocorp/blob/master/workspace/research/openapi.json "
    "(the vendor's OpenAPI 3.0.0 'Robocorp Control Room API' 1.0)"
)

LIST = "GET /workspaces/{workspace_id}/process-runs"
GET = "GET /workspaces/{workspace_id}/process-runs/{process_run_id}"
DELETE = "DELETE /workspaces/{workspace_id}/process-runs/{process_run_id}"
STOP = "POST /workspaces/{workspace_id}/process-runs/{process_run_id}/stop"
START = "POST /workspaces/{workspace_id}/processes/{process_id}/process-runs"
START_QS = "POST /workspaces/{workspace_id}/processes/{process_id}/process-runs-integrations"


@dataclass(frozen=True)
class Break:
    """A switchable wrong behaviour, where it shows, and the documented sentence it contradicts."""

    description: str
    operation: str
    location: str
    promise: str


BREAKS: dict[str, Break] = {
    "state_renamed": Break(
        "get_process_run sends the run's state under the name `status` instead of `state`.",
        GET,
        "/state",
        f"{NOTES}, section 'Schemas': \"ProcessRunResource (all required): `id` string; `state` enum "
        f'`new | in_progress | completed | unresolved | stopping`"; the return type of get_process_run is '
        f"ProcessRunResource ({SEED_URL}, section 'get_process_run', 'Return type').",
    ),
    "duration_as_string": Break(
        '`duration` of finished runs is sent as a JSON string ("90.0") instead of a number (get and list).',
        GET,
        "/duration",
        f"{NOTES}, section 'Schemas', ProcessRunResource: \"`duration` number or null (seconds)\".",
    ),
    "start_drops_id": Break(
        "start_process_run answers `{started: true}` without the new run's `id` (only this operation).",
        START,
        "/id",
        f"{NOTES}, section 'Schemas': \"Start response 200: either `{{started: true, id: string}}` or "
        f'`{{started: false}}`"; {SEED_URL}, section \'start_process_run\': 200 "Started Process Run".',
    ),
    "state_recased": Break(
        "list_process_runs sends state values upper-cased (`IN_PROGRESS`, `COMPLETED`, ...).",
        LIST,
        "/data/0/state",
        f"{NOTES}, section 'Schemas', ProcessRunResource: \"`state` enum "
        f'`new | in_progress | completed | unresolved | stopping`".',
    ),
    "state_filter_ignored": Break(
        "list_process_runs ignores the `state` query parameter and returns runs in every state.",
        LIST,
        "/data",
        f"{SEED_URL}, section 'list_process_runs', Parameters: \"**state** | **str**| State of process "
        f"runs | [optional]\"; {NOTES}, section 'Schemas': \"The `state` query parameter of listProcessRuns "
        f'uses the same five values."',
    ),
    "limit_ignored": Break(
        "list_process_runs ignores `limit` and returns every run on one page.",
        LIST,
        "/data",
        f"{SEED_URL}, section 'list_process_runs', Parameters: \"**limit** | **float**| Limit for "
        f'paginated response | [optional]"; description: "Returns a paginated list of process runs."',
    ),
    "stop_noop": Break(
        "stop_process_run answers `{accepted: true}` but the run goes on and completes normally.",
        STOP,
        "/accepted",
        f'{SEED_URL}, section \'stop_process_run\': "Stops the process run." and 200 "Stopped Process '
        f'Run"; {NOTES}, section \'Schemas\': "Stop response 200: `{{accepted: boolean}}`".',
    ),
    "finished_run_resumes": Break(
        "A run that finished (completed/unresolved) more than one step ago is reported as `in_progress` "
        "again, with `ended_at` and `duration` back to null (get and list).",
        GET,
        "/state",
        f"{NOTES}, section 'Schemas', ProcessRunResource: `state` enum "
        f'"`new | in_progress | completed | unresolved | stopping`" and "`ended_at` date-time or null": '
        f"a run that has ended has an end; {SEED_URL}, section 'delete_process_run' (finished runs are "
        f'records to delete, "This action is irreversible!").',
    ),
    "list_500": Break(
        "list_process_runs answers 500 Internal Server Error to a valid, authorised request.",
        LIST,
        "status",
        f"{SEED_URL}, section 'list_process_runs', HTTP response details: \"**200** | List of Process "
        f'Runs" and "**403** | Forbidden" (no 5xx is documented).',
    ),
    "list_duplicates": Break(
        "list_process_runs repeats every run twice in `data`.",
        LIST,
        "/data",
        f"{SEED_URL}, section 'list_process_runs': \"Returns a paginated list of process runs. ... the "
        f'response will contain the process runs of the workspace in the path." (each run once).',
    ),
    "error_body_flat": Break(
        "get_process_run's 404 body is `{message}` instead of `{error: {code, message}}`.",
        GET,
        "/error",
        f"{NOTES}, section 'Schemas': \"Every error body: `{{error: {{code: string, message: string}}}}` "
        f"(both required).\"; {SEED_URL}, section 'get_process_run', status **404**.",
    ),
    "delete_noop": Break(
        "delete_process_run answers `{id, deleted: true}` but the run can still be read and listed.",
        DELETE,
        "/deleted",
        f"{SEED_URL}, section 'delete_process_run': \"Deletes a process run. This action is "
        f"irreversible!\"; {NOTES}, section 'Schemas': \"Delete response 200: `{{id: string, deleted: "
        f'true}}`".',
    ),
    "integrations_token_ignored": Break(
        "start_process_run_qs_auth starts a run whatever the `token` query parameter holds, or without it.",
        START_QS,
        "status",
        f"{SEED_URL}, section 'start_process_run_qs_auth': \"The **API Key** must be provided as the "
        f"value of the `token` query-string parameter.\"; {NOTES}, section 'Operations': \"query: `token` "
        f'required".',
    ),
}
