"""Planted breaks: each contradicts one promise the SolveXia documents really make.

``serve(breaks=[name, ...])`` switches them on; ``app.py`` applies each at one place.
"""

from __future__ import annotations

from dataclasses import dataclass

_DOCS = "https://github.com/solvexia/solvexia-api-docs/blob/master"
RUNS_PAGE = f"{_DOCS}/process_runs/process_runs.md"
RUN_SCHEMAS = f"{_DOCS}/process_runs/process_runs_schemas.md"
STEP_SCHEMAS = f"{_DOCS}/steps/steps_schemas.md"
DATASTEP_SCHEMAS = f"{_DOCS}/steps/datastep_schemas.md"
RESPONSE_CODES = f"{_DOCS}/response_codes.md"
OAUTH_PAGE = f"{_DOCS}/oauth/authentication-oauth2.0.md"

RUN_STATUS_OP = "GET /v1/processRuns/{processRunId}/runstatus"
CANCEL_OP = "POST /v1/processruns/{processRunId}/cancel"
GET_RUN_OP = "GET /v1/processruns/{processRunId}"
STEPS_OP = "GET /v1/processruns/{processRunId}/steps"


@dataclass(frozen=True)
class Break:
    """One planted break: what it does, where, and the documented promise it contradicts."""

    description: str
    operation: str
    location: str
    promise: str


BREAKS: dict[str, Break] = {
    "process_run_field_renamed": Break(
        "The Process Run's `dateCreated` is sent as `createdDate`.",
        GET_RUN_OP,
        "/dateCreated",
        f"{RUN_SCHEMAS} § Process Run: `type ProcessRun = {{ … ; dateCreated: string … }}`; "
        f"{RUNS_PAGE} § Get a process run, example response "
        '`"dateCreated": "2020-06-15T02:24:14.2700000"`.',
    ),
    "run_duration_as_string": Break(
        '`runDurationInSeconds` is sent as a JSON string ("932") instead of a number.',
        RUN_STATUS_OP,
        "/runDurationInSeconds",
        f"{RUN_SCHEMAS} § Process Run Status: `runDurationInSeconds: number`; "
        f'{RUNS_PAGE} § Get process run status, example `"runDurationInSeconds": 932`.',
    ),
    "start_drops_date_finished": Break(
        "The start answer omits `dateFinished` (other operations still send it).",
        "POST /v1/processruns/{processRunId}/start",
        "/dateFinished",
        f'{RUNS_PAGE} § Start a process run: "The successful response contains an instance of Process Run '
        f'Status." with example `"dateFinished": null`; {RUN_SCHEMAS} § Process Run Status: '
        "`dateFinished: string`.",
    ),
    "run_status_recased": Break(
        'The run status is upper-cased ("FINISHED", "RUNNING", …).',
        RUN_STATUS_OP,
        "/status",
        f'{RUN_SCHEMAS} § Process Run Status Type: `enum ProcessRunStatusType {{ "NotStarted" = 1, '
        '"Scheduled" = 2, "Running" = 3, "Finished" = 4, "Cancelled" = 5, "TimedOut" = 6 }`.',
    ),
    "cancel_status_respelled": Break(
        'A cancelled run\'s status is spelled "Canceled" (cancel answer and later reads).',
        CANCEL_OP,
        "/status",
        f'{RUN_SCHEMAS} § Process Run Status Type: `"Cancelled" = 5`; {RUNS_PAGE} § Cancel a process run, '
        'example response `"status": "Cancelled"`.',
    ),
    "cancel_does_nothing": Break(
        'Cancel answers 200 with status "Cancelled" but the run goes on running and then finishes.',
        CANCEL_OP,
        "/status",
        f'{RUNS_PAGE} § Cancel a process run: "Cancel a process run." (and § [Deprecated] Cancel a process '
        'run: "Cancels a currently running process run."); example response `"status": "Cancelled"`.',
    ),
    "finished_run_reverts": Break(
        'A run that has finished reads as "Running" again (dateFinished null) one step later.',
        RUN_STATUS_OP,
        "/status",
        f'{RUN_SCHEMAS} § Process Run Status Type: `"Finished" = 4` is a final state (a run is started '
        f"only through {RUNS_PAGE} § Start a process run / Restart a step in a process run).",
    ),
    "steps_server_error": Break(
        "Listing a run's data steps answers 500 with an error body.",
        STEPS_OP,
        "status",
        f'{RUNS_PAGE} § Get process run data steps: "The successful response contains an array of instances '
        f'of Data Step."; {RESPONSE_CODES} § Response Codes: `| 200 | Ok | Successful request |`.',
    ),
    "steps_duplicated": Break(
        "Every data step appears twice in the list.",
        STEPS_OP,
        "",
        f'{RUNS_PAGE} § Get process run data steps: "Returns a list of data steps for a process run." '
        "(example lists each step id once); "
        f"{DATASTEP_SCHEMAS} § Data Step: `id: string`.",
    ),
    "unknown_run_found": Break(
        "A process run id that does not exist answers 200 with an invented, empty run.",
        GET_RUN_OP,
        "status",
        f"{RESPONSE_CODES} § Response Codes: `| 404 | Not Found | The resource doesn't exist or has been "
        "deleted |`.",
    ),
    "error_drops_support_id": Break(
        "Error answers of this operation carry `message` only, without `supportId`.",
        GET_RUN_OP,
        "/supportId",
        f'{RESPONSE_CODES} § Error Response Body: "All non-200 responses will return a general error '
        'json object." with `|supportId|string| The error support id that can be used for support '
        "enquiries. |`.",
    ),
    "token_expires_in_string": Break(
        "The token answer's `expires_in` is a JSON string instead of a number.",
        "POST /oauth/token",
        "/expires_in",
        f"{OAUTH_PAGE} § Client Credentials Flow > Response: `|expires_in|number|Seconds in which the access "
        "token will expire, for the user application to handle.|`.",
    ),
    "step_status_drops_completion_message": Break(
        "A step's run status omits `completionMessage`.",
        "GET /v1/processruns/{processRunId}/steps/{stepId}/runstatus",
        "/completionMessage",
        f"{STEP_SCHEMAS} § Step Run Status: `type StepRunStatus = {{ … ; completionMessage: string }}`; "
        f'{RUNS_PAGE} § Get a run status of a step in a process run, example `"completionMessage": ""`.',
    ),
}
