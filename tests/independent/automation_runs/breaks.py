"""Planted breaks of promises the vendor's documents make, each switched on by name.

``serve(breaks=[name, ...])`` (or ``create_app(..., breaks=...)``) turns them on; the app, not a
wrapper, carries them out. Each names the operation as the page writes it, where in the response the
break shows (a JSON pointer, or ``status`` for the status code) and the words of the page it breaks.
The seed gives no public URL (its example host is the placeholder ``https://loading``), so promises
name the page and its section.
"""

from dataclasses import dataclass

PAGE = "Reference > Automation runs (https://docs.vai-dev.virtuousai.com/docs/api/reference/automation-runs/)"
NOTES = "the vendor's OpenAPI, as summarised beside the page (Automation Runs API)"
RUNS = "/api/v1/automation-runs"
RUN = f"{RUNS}/{{run_id}}"


@dataclass(frozen=True)
class Break:
    """One planted contradiction of the documents."""

    description: str
    operation: str
    location: str
    promise: str


BREAKS: dict[str, Break] = {
    "run-field-snake-case": Break(
        "Get Run sends automationVersionId as automation_version_id",
        f"GET {RUN}",
        "/automationVersionId",
        f'{PAGE}, “Get Run”, Response Body: "automationVersionId": "string"',
    ),
    "step-field-snake-case": Break(
        "Get Run Steps sends each step's dependsOn as depends_on",
        f"GET {RUN}/steps",
        "/steps/0/dependsOn",
        f'{PAGE}, “Get Run Steps”, Response Body: "steps": [{{ … "dependsOn": ["string"], … }}]',
    ),
    "total-as-string": Break(
        "List All Runs sends total as a JSON string",
        f"GET {RUNS}",
        "/total",
        f'{PAGE}, “List All Runs”, Response Body: "total": 0 (a number)',
    ),
    "cancel-drops-updated-at": Break(
        "Cancel Run leaves updatedAt out of the run it returns (Get Run still sends it)",
        f"POST {RUN}/cancel",
        "/updatedAt",
        f'{PAGE}, “Cancel Run”, Response Body: "updatedAt": "2019-08-24T14:15:22Z"',
    ),
    "status-upper-case": Break(
        "run statuses are sent upper-case (PENDING, RUNNING, ...) in every run body",
        f"POST {RUN}/retry",
        "/status",
        f'{PAGE}, “Retry Run”, Response Body: "status": "pending"',
    ),
    "offset-ignored": Break(
        "List All Runs ignores offset and always starts at the first run",
        f"GET {RUNS}",
        "/items",
        f"{PAGE}, “List All Runs”, Query Parameters: offset?integer Default 0 Range 0 <= value",
    ),
    "limit-range-ignored": Break(
        "List All Runs accepts and honours a limit above 1000 instead of rejecting it",
        f"GET {RUNS}",
        "status",
        f"{PAGE}, “List All Runs”, Query Parameters: limit?integer Default 100 Range value <= 1000",
    ),
    "list-duplicates-items": Break(
        "List All Runs lists the first run of the page twice (items outnumber total)",
        f"GET {RUNS}",
        "/items",
        f'{PAGE}, “List All Runs”, Response Body: {{"items": [{{ … "id": "string", … }}], "total": 0}}',
    ),
    "cancel-is-a-no-op": Break(
        "Cancel Run answers 200 with the run unchanged and the run goes on to finish",
        f"POST {RUN}/cancel",
        "/status",
        f'{PAGE}, “Cancel Run”: curl -X POST "https://loading/api/v1/automation-runs/'
        '497f6eca-6276-4993-bfeb-53cbbbba6f08/cancel", answered with the run (an operation named '
        "Cancel Run that answers with success must have cancelled it)",
    ),
    "completed-run-reopens": Break(
        "a completed run is reported running again (completedAt and durationSeconds null) one step later",
        f"GET {RUN}",
        "/status",
        f'{PAGE}, “Get Run”, Response Body: "completedAt": "2019-08-24T14:15:22Z", "durationSeconds": 0; '
        f"and “Retry Run” (POST {RUN}/retry, mode “from_failed” | “from_step” | “full”) is the "
        "page's only way to run a run again",
    ),
    "steps-server-error": Break(
        "Get Run Steps answers 500 for every run",
        f"GET {RUN}/steps",
        "status",
        f'{PAGE}, “Get Run Steps”, Response Body application/json: {{"automationRunId": "string", '
        '"completedCount": 0, … "steps": [ … ]} or the validation error; no server error is documented',
    ),
    "cookie-ignored": Break(
        "the vai_token cookie is not accepted as a credential (401 Not authenticated)",
        f"GET {RUNS}",
        "status",
        f"{PAGE}, “List All Runs”, Cookie Parameters: vai_token?; {NOTES}: “Auth may arrive three "
        "ways: `authorization` header, `X-API-Key` header, or the `vai_token` cookie.”",
    ),
    "validation-error-shape": Break(
        "a request that fails validation gets 422 with detail as one string, not a list of errors",
        f"GET {RUN}",
        "/detail",
        f'{PAGE}, “Get Run”: run_id*string Format uuid, and error Response Body {{"detail": [{{"loc": '
        f'["string"], "msg": "string", "type": "string"}}]}}; {NOTES}: “Validation errors use '
        'FastAPI\'s shape: `{"detail": [{"loc": [...], "msg": str, "type": str}]}`.”',
    ),
}
