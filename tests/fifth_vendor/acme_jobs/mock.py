"""The Acme Jobs mock: jobs walk queued -> running -> done; a queued or running job can be cancelled.

Faithful mode reproduces AC-001: a finished job's state is served ``DONE``, as the page's example
shows it, where the schema says ``done``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from conformance.mocks.base import VendorMock, handles, iso, json_response
from conformance.mocks.calls import Call, RequestRejected
from conformance.mocks.runs import Run

EXAMPLE_JOB = "job-0001"


class Mock(VendorMock):
    name = "acme"
    validation_status = 422
    auth_status = 401

    def seed(self) -> None:
        self.runs[EXAMPLE_JOB] = Run(
            EXAMPLE_JOB, ["done"], datetime(2026, 1, 5, 9, 0, tzinfo=UTC), data={"name": "nightly"}
        )

    def authenticated(self, request: Request) -> bool:
        key = request.headers.get("x-acme-key")
        return key is not None and secrets.compare_digest(key.encode(), self.token.encode())

    def error(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> Response:
        return json_response({"error": message}, status)

    def render(self, run: Run) -> dict[str, Any]:
        state = "DONE" if run.state == "done" and self.faithful else run.state
        return {
            "id": run.id,
            "name": run.data["name"],
            "state": state,
            "created_at": iso(run.created_at),
            "started_at": iso(run.started_at),
            "ended_at": iso(run.ended_at),
        }

    @handles("listJobs")
    async def list_jobs(self, call: Call) -> Response:
        jobs = sorted(self.runs.values(), key=lambda run: run.created_at, reverse=True)
        limit = call.query.get("limit", 20)
        return json_response({"items": [self.render(self.observe(run)) for run in jobs[:limit]]})

    @handles("startJob")
    async def start_job(self, call: Call) -> Response:
        job = Run(f"job-{secrets.token_hex(4)}", ["queued", "running", "done"], self.clock.now())
        job.data["name"] = call.body["name"]
        self.runs[job.id] = job
        return json_response(self.render(job), 201)

    @handles("getJob")
    async def get_job(self, call: Call) -> Response:
        return json_response(self.render(self.observe(self.find_run(call.path["job_id"]))))

    @handles("cancelJob")
    async def cancel_job(self, call: Call) -> Response:
        job = self.observe(self.find_run(call.path["job_id"]))
        if self.lifecycle.is_terminal(job.state):
            raise RequestRejected(409, f"job {job.id} has already ended")
        self.move(job, "cancelled")
        return json_response(self.render(job))
