"""Kognitos REST API v2, runs: list the runs of a process, start one, poll it.

Kognitos has no cancel, stop or retry: a run is started and then walks
``Created → Running → Completed`` on its own, or ends ``Failed`` when one of its
``file_ids`` names a file the documents do not show (the process cannot read it). The
store knows the one agent and process of the documents' examples and the run the
``Get Run`` page describes. Errors are the fragment's ``ErrorModel``; the page documents
none, so 401 (key), 404 (unknown run or process) and 422 (validation) are this suite's
decisions (KG-006).

Faithful mode reproduces KG-001: ``created_at`` is served the way the page's example
shows it, without a UTC offset, wherever the page documents a Run (get and list), unless
``CONFORMANCE_MOCK_FIXED`` names it.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from conformance.mocks.base import VendorMock, handles, iso, json_response
from conformance.mocks.calls import Call, RequestRejected
from conformance.mocks.runs import Run

EXAMPLE_ID = "b4fznghynbdemslfd5k044fgd"
#: The page uses one id for the agent, the process and the run alike (KG-008).
EXAMPLE_AGENT_ID = EXAMPLE_PROCESS_ID = EXAMPLE_RUN_ID = EXAMPLE_ID
EXAMPLE_FILE_IDS = [EXAMPLE_ID, "9nvx1hdm9bd74rp585oe81t5i"]
EXAMPLE_OUTPUTS = [
    {"name": "total_items", "value": 42},
    {"name": "customer_id", "value": "9nvx1hdm9bd74rp585oe81t5i"},
]
EXAMPLE_CREATED_AT = datetime(2021, 1, 1, 12, 0, 0, tzinfo=UTC)

SUCCEEDING = ["Created", "Running", "Completed"]
FAILING = ["Created", "Running", "Failed"]
DEFAULT_LIMIT = 10
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_LENGTH = len(EXAMPLE_ID)


def new_run_id() -> str:
    """A fresh id shaped like the documents' examples (25 lowercase base-36 characters)."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def encode_token(run_id: str) -> str:
    """An opaque continuation token: the last run of the page, so later starts never shift pages."""
    return base64.urlsafe_b64encode(run_id.encode()).decode().rstrip("=")


def decode_token(token: str) -> str | None:
    """The run id inside ``token``, or None when it is not a token this mock issued."""
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


class Mock(VendorMock):
    name = "kognitos"
    validation_status = 422
    auth_status = 401

    def seed(self) -> None:
        #: (agent_id, process_id) pairs whose runs can be listed and started.
        self.processes: set[tuple[str, str]] = {(EXAMPLE_AGENT_ID, EXAMPLE_PROCESS_ID)}
        #: Files a run can read; any other file id makes the run fail.
        self.files: set[str] = set(EXAMPLE_FILE_IDS)
        # The page's example Run is shown "Created" yet with outputs (KG-007); outputs only
        # exist once a run has finished, so it is seeded as the completed run it describes.
        self.runs[EXAMPLE_RUN_ID] = Run(
            id=EXAMPLE_RUN_ID,
            path=["Completed"],
            created_at=EXAMPLE_CREATED_AT,
            data={
                "agent_id": EXAMPLE_AGENT_ID,
                "process_id": EXAMPLE_PROCESS_ID,
                "name": "Process invoice",
                "stage": "Draft",
                "file_ids": list(EXAMPLE_FILE_IDS),
            },
        )

    def example_ids(self) -> dict[str, list[str]]:
        """The agents and processes whose runs it lists and starts, the runs, the files a run reads."""
        return {
            "agent": sorted({agent for agent, _ in self.processes}),
            "process": sorted({process for _, process in self.processes}),
            "run": list(self.runs),
            "file": sorted(self.files),
        }

    def authenticated(self, request: Request) -> bool:
        key = request.headers.get("x-api-key")
        return key is not None and secrets.compare_digest(key.encode(), self.token.encode())

    def error(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
        return json_response({"message": message, "status_code": status, "details": details or None}, status)

    # -- helpers -----------------------------------------------------------------------
    def require_process(self, agent_id: str, process_id: str) -> None:
        if (agent_id, process_id) not in self.processes:
            raise RequestRejected(404, f"process {process_id} of agent {agent_id} was not found")

    def render(self, run: Run, *, documented_timestamp: bool) -> dict[str, Any]:
        """The Run body; ``documented_timestamp`` serves created_at as the page's offset-less example."""
        naive = documented_timestamp and self.reproduces("KG-001")
        return {
            "agent_id": run.data["agent_id"],
            "created_at": iso(run.created_at, offset=False, digits=0) if naive else iso(run.created_at),
            "file_ids": run.data["file_ids"],
            "id": run.id,
            "name": run.data["name"],
            "outputs": EXAMPLE_OUTPUTS if run.state == "Completed" else None,
            "process_id": run.data["process_id"],
            "stage": run.data["stage"],
            "status": run.state,
        }

    # -- operations --------------------------------------------------------------------
    @handles("listRuns")
    async def list_runs(self, call: Call) -> Response:
        agent_id, process_id = call.query["agent_id"], call.query["process_id"]
        self.require_process(agent_id, process_id)
        limit = call.query.get("limit")
        limit = DEFAULT_LIMIT if limit is None else max(limit, 0)
        stage = call.query.get("stage")
        matching = sorted(
            (
                run
                for run in self.runs.values()
                if run.data["agent_id"] == agent_id
                and run.data["process_id"] == process_id
                and stage in (None, run.data["stage"])
            ),
            key=lambda run: (run.created_at, run.id),
            reverse=True,
        )
        start = 0
        token = call.query.get("continuation_token")
        if token is not None:
            after = decode_token(token)
            position = next((i for i, run in enumerate(matching) if run.id == after), None)
            if position is None:
                # Any string is a schema-valid token, so an unknown one names a page that does
                # not exist (404) rather than an invalid request (422).
                raise RequestRejected(
                    404, "continuation_token does not point into the runs of this process and agent"
                )
            start = position + 1
        page = matching[start : start + limit]
        more = bool(page) and start + len(page) < len(matching)
        return json_response(
            {
                "continuation_token": encode_token(page[-1].id) if more else None,
                "items": [self.render(self.observe(run), documented_timestamp=True) for run in page],
            }
        )

    @handles("startRun")
    async def start_run(self, call: Call) -> Response:
        body = call.body
        self.require_process(body["agent_id"], body["process_id"])
        file_ids = body.get("file_ids")
        readable = all(file_id in self.files for file_id in file_ids or [])
        run = Run(
            id=new_run_id(),
            path=list(SUCCEEDING if readable else FAILING),
            created_at=self.clock.now(),
            data={
                "agent_id": body["agent_id"],
                "process_id": body["process_id"],
                "name": body["name"],
                "stage": body["stage"],
                "file_ids": file_ids,
            },
        )
        self.runs[run.id] = run
        return json_response(self.render(run, documented_timestamp=False), 201)

    @handles("getRun")
    async def get_run(self, call: Call) -> Response:
        run = self.observe(self.find_run(call.path["run_id"]))
        return json_response(self.render(run, documented_timestamp=True))
