"""Robocorp Control Room process runs: a workspace-scoped API key, runs that go
new -> in_progress -> completed, stop via ``stopping``, delete of finished runs, and outputs.

The store starts with the client page's example objects (``workspace_id_example``,
``process_id_example``, ``process_run_id_example``) plus a user-started and an unresolved
run. In faithful mode the mock also answers the outputs path the client page documents
(``GET /workspaces/{workspace_id}/outputs?process_run_id=...``, catalogued as stale).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.mocks.base import VendorMock, handles, iso, json_response
from conformance.mocks.calls import Call, RequestRejected
from conformance.mocks.runs import Run

WORKSPACE_ID = "workspace_id_example"
PROCESS_ID = "process_id_example"
DISABLED_PROCESS_ID = "process_id_example_disabled"
PROCESS_RUN_ID = "process_run_id_example"
USER_PROCESS_RUN_ID = "process_run_id_example_user"
UNRESOLVED_PROCESS_RUN_ID = "process_run_id_example_unresolved"

AUTH_PREFIX = "RC-WSKEY "
DEFAULT_PAGE_SIZE = 50
MAX_PAYLOAD_DEPTH = 100
ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
}
#: The client page lists this header on the 200s of start, integrations start, delete and outputs.
CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}
API_STARTED = {"type": "api", "details": None}


@dataclass
class Process:
    """A process of the workspace; ``queued_inputs`` are the payloads waiting in its input queue."""

    id: str
    name: str
    enabled: bool = True
    queued_inputs: list[Any] = field(default_factory=list)


class Mock(VendorMock):
    name = "robocorp"

    def seed(self) -> None:
        self.processes = {
            PROCESS_ID: Process(PROCESS_ID, "Process example", queued_inputs=[{"invoice_id": "INV-1003"}]),
            DISABLED_PROCESS_ID: Process(DISABLED_PROCESS_ID, "Disabled process example", enabled=False),
        }
        day = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)
        self._seed_finished(
            PROCESS_RUN_ID, "completed", day, API_STARTED, inputs=[{"invoice_id": "INV-1001"}]
        )
        user = {"id": "user_id_example", "first_name": "Ada", "last_name": "Lovelace"}
        self._seed_finished(
            USER_PROCESS_RUN_ID, "completed", day + timedelta(hours=1), {"type": "user", "details": user}
        )
        self._seed_finished(
            UNRESOLVED_PROCESS_RUN_ID,
            "unresolved",
            day + timedelta(hours=2),
            {"type": "schedule", "details": None},
        )

    def _seed_finished(
        self,
        run_id: str,
        final_state: str,
        created_at: datetime,
        started_by: dict[str, Any],
        inputs: list[Any] | None = None,
    ) -> None:
        path = ["new", "in_progress", final_state]
        self.runs[run_id] = Run(
            run_id,
            path,
            created_at,
            data={"process_id": PROCESS_ID, "started_by": started_by, "inputs": inputs or [None]},
            index=len(path) - 1,
            started_at=created_at + timedelta(seconds=2),
            ended_at=created_at + timedelta(seconds=62.5),
            history=list(path),
        )

    def example_ids(self) -> dict[str, list[str]]:
        """The workspace its key is valid for, its processes and their runs."""
        return {"workspace": [WORKSPACE_ID], "process": list(self.processes), "process run": list(self.runs)}

    # -- auth and errors --------------------------------------------------------------
    def authenticated(self, request: Request) -> bool:
        """``Authorization: RC-WSKEY <key>``. Operations whose spec security is ``[]`` never ask:
        the endpoint knows them from its route, without looking the operation up again."""
        return request.headers.get("authorization") == AUTH_PREFIX + self.token

    def error(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
        if details:
            message = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details)
        return json_response({"error": {"code": ERROR_CODES[status], "message": message}}, status)

    def app(self) -> ASGIApp:
        app = super().app()
        return LegacyOutputsPath(app, self) if self.faithful else app

    # -- helpers ----------------------------------------------------------------------
    def _check_workspace(self, call: Call, status: int = 403) -> None:
        """A workspace API key is scoped to its workspace: any other workspace id is refused."""
        if call.path["workspace_id"] != WORKSPACE_ID:
            raise RequestRejected(
                status, f"the API key is not valid for workspace {call.path['workspace_id']}"
            )

    def _startable_process(self, call: Call, disabled_status: int) -> Process:
        process = self.processes.get(call.path["process_id"])
        if process is None:
            raise RequestRejected(400, f"process {call.path['process_id']} was not found")
        if not process.enabled:
            raise RequestRejected(disabled_status, f"process {process.id} is disabled")
        return process

    def _new_run(self, process: Process, inputs: list[Any]) -> Run:
        if not all(_storable(payload) for payload in inputs):
            raise RequestRejected(
                400, f"payloads must hold finite numbers and nest at most {MAX_PAYLOAD_DEPTH} levels"
            )
        run = Run(
            str(uuid4()),
            ["new", "in_progress", "completed"],
            self.clock.now(),
            data={"process_id": process.id, "started_by": {**API_STARTED}, "inputs": inputs},
        )
        self.runs[run.id] = run
        return run

    def _caught_up(self, run: Run) -> Run:
        """Bring ``run`` up to the clock without counting a poll: only getProcessRun polls."""
        polls = run.polls
        self.observe(run)
        run.polls = polls
        return run

    def _current_run(self, call: Call) -> Run:
        return self._caught_up(self.find_run(call.path["process_run_id"]))

    def _process_reference(self, run: Run) -> dict[str, str]:
        process = self.processes[run.data["process_id"]]
        return {"id": process.id, "name": process.name}

    def _resource(self, run: Run) -> dict[str, Any]:
        return {
            "id": run.id,
            "state": run.state,
            "created_at": iso(run.created_at),
            "started_at": iso(run.started_at),
            "ended_at": iso(run.ended_at),
            "process": self._process_reference(run),
            "started_by": run.data["started_by"],
            "duration": self._duration(run),
        }

    @staticmethod
    def _duration(run: Run) -> float | None:
        """Seconds from start to end, to the millisecond like the timestamps; null until the run ends."""
        if run.ended_at is None or run.started_at is None:
            return None
        return round((run.ended_at - run.started_at).total_seconds(), 3)

    def _outputs(self, run: Run) -> list[dict[str, Any]]:
        """A completed run has one output per input work item, carrying that item's payload."""
        if run.state != "completed":
            return []
        return [
            {
                "id": f"{run.id}-output-{number}",
                "created_at": iso(run.ended_at),
                "process": {"id": run.data["process_id"]},  # the vendor's reference names only id
                "process_run": {"id": run.id},
                "payload": payload,
                "files": [],
            }
            for number, payload in enumerate(run.data["inputs"], 1)
        ]

    def _page(self, call: Call, items: list[dict[str, Any]]) -> dict[str, Any]:
        """One page of ``items``; ``next`` carries an opaque offset the documents do not name."""
        limit = call.query.get("limit", DEFAULT_PAGE_SIZE)
        size = int(min(max(limit, 1), max(len(items), 1)))  # also tames 1e999, which parses as inf
        cursor = call.request.query_params.get("cursor", "")
        offset = int(cursor) if cursor.isdecimal() else 0
        has_more = offset + size < len(items)
        following = str(call.request.url.include_query_params(cursor=offset + size)) if has_more else None
        return {"next": following, "has_more": has_more, "data": items[offset : offset + size]}

    # -- operations -------------------------------------------------------------------
    @handles("listProcessRuns")
    async def list_process_runs(self, call: Call) -> Response:
        self._check_workspace(call)
        runs = sorted(
            (self._caught_up(run) for run in self.runs.values()),
            key=lambda run: (run.created_at, run.id),
            reverse=True,
        )
        wanted_process, wanted_state = call.query.get("process_id"), call.query.get("state")
        matching = [
            self._resource(run)
            for run in runs
            if wanted_process in (None, run.data["process_id"]) and wanted_state in (None, run.state)
        ]
        return json_response(self._page(call, matching))

    @handles("startProcessRun")
    async def start_process_run(self, call: Call) -> Response:
        self._check_workspace(call)
        process = self._startable_process(call, disabled_status=409)
        body = call.body or {}
        match body.get("type"):
            case "with_inputs":
                if not process.queued_inputs:
                    return json_response({"started": False}, headers=CORS_HEADERS)
                inputs, process.queued_inputs = process.queued_inputs, []
            case "with_payloads":
                inputs = body["payloads"]
            case "with_work_item_ids":
                inputs = [None] * len(body["work_item_ids"])
            case _:
                inputs = [None]
        run = self._new_run(process, inputs)
        return json_response({"started": True, "id": run.id}, headers=CORS_HEADERS)

    @handles("startProcessRunQsAuth")
    async def start_process_run_qs_auth(self, call: Call) -> Response:
        if call.query["token"] != self.token:
            raise RequestRejected(400, "the token is not a valid API key")
        self._check_workspace(call, status=400)
        process = self._startable_process(call, disabled_status=400)
        run = self._new_run(process, [call.body])
        headers = dict(CORS_HEADERS)
        hook_secret = call.request.headers.get("x-hook-secret")
        if call.query.get("with_handshake") == "asana" and hook_secret is not None:
            headers["X-Hook-Secret"] = hook_secret
        return json_response({"started": True, "id": run.id}, headers=headers)

    @handles("getProcessRun")
    async def get_process_run(self, call: Call) -> Response:
        self._check_workspace(call)
        return json_response(self._resource(self.observe(self.find_run(call.path["process_run_id"]))))

    @handles("deleteProcessRun")
    async def delete_process_run(self, call: Call) -> Response:
        self._check_workspace(call)
        run = self._current_run(call)
        if run.state not in self.terminal_states:
            raise RequestRejected(
                409, f"process run {run.id} is {run.state}; only finished runs can be deleted"
            )
        del self.runs[run.id]
        return json_response({"id": run.id, "deleted": True}, headers=CORS_HEADERS)

    @handles("stopProcessRun")
    async def stop_process_run(self, call: Call) -> Response:
        self._check_workspace(call)
        run = self._current_run(call)
        if run.state in self.terminal_states:
            raise RequestRejected(400, f"process run {run.id} has already finished ({run.state})")
        if run.state == "stopping":
            return json_response({"accepted": False})
        self.move(run, "stopping")
        run.path.append("completed" if call.body["set_remaining_work_items_as_done"] else "unresolved")
        return json_response({"accepted": True})

    @handles("listProcessRunOutputs")
    async def list_process_run_outputs(self, call: Call) -> Response:
        self._check_workspace(call)
        run = self._current_run(call)
        return json_response(self._page(call, self._outputs(run)), headers=CORS_HEADERS)


def _storable(value: Any) -> bool:
    """Whether a JSON payload can be kept and served back: finite numbers (``1e999`` parses as
    infinity, which JSON cannot carry) and at most ``MAX_PAYLOAD_DEPTH`` levels of nesting."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_PAYLOAD_DEPTH or (isinstance(item, float) and not math.isfinite(item)):
            return False
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        pending.extend((child, depth + 1) for child in children)
    return True


class LegacyOutputsPath:
    """ASGI middleware: answer the client page's ``GET /workspaces/{id}/outputs?process_run_id=``
    at the contract path ``/workspaces/{id}/process-runs/{process_run_id}/outputs``."""

    def __init__(self, app: ASGIApp, mock: Mock) -> None:
        self.app = app
        self.mock = mock
        self.pattern = re.compile(f"^{re.escape(mock.spec.base_path)}/workspaces/([^/]+)/outputs$")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = self.pattern.match(scope["path"]) if scope["type"] == "http" else None
        if match is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        run_ids = [value for name, value in query if name == "process_run_id"]
        if not self.mock.authenticated(Request(scope)):
            await self.mock.error(self.mock.auth_status, "missing or invalid credentials")(
                scope, receive, send
            )
            return
        if not run_ids:
            await self.mock.error(400, "query parameter process_run_id is required")(scope, receive, send)
            return
        path = (
            f"{self.mock.spec.base_path}/workspaces/{match.group(1)}"
            f"/process-runs/{quote(run_ids[0], safe='')}/outputs"
        )
        rest = urlencode([(name, value) for name, value in query if name != "process_run_id"])
        scope = {**scope, "path": path, "raw_path": path.encode(), "query_string": rest.encode()}
        await self.app(scope, receive, send)
