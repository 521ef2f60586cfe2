"""Flask (WSGI) application serving SolveXia's Process Run APIs and its OAuth token endpoint.

Operations live under ``/api/v1/...`` (the documents' base URL is ``https://{env}.solvexia.com/api``)
and the token endpoint at ``/oauth/token``. Planted breaks are switched on by name and applied
at the one place each contradicts the documents.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .oauth import TokenError, Tokens, bearer
from .store import ACTIVE, CANCELLED, FINISHED, RUNNING, RunStateError, Snapshot, StepState, Store

# Fixed path words matched case-insensitively, as the page spells one path ``processRuns``.
_LITERALS = frozenset(
    {
        "api",
        "v1",
        "processruns",
        "start",
        "cancel",
        "runstatus",
        "steps",
        "restartfromhere",
        "requests",
        "oauth",
        "token",
    }
)
# ProcessRunRequestType (process_runs_schemas.md, current version).
START_RQ, CANCEL_RQ = "ProcessRun_StartRq", "ProcessRun_CancelRq"


def _date(t: float | None, digits: int = 3, zulu: bool = False) -> str | None:
    """A UTC timestamp in the shape the documents' examples show, or None."""
    if t is None:
        return None
    text = datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    text = text[:-3] if digits == 3 else text + "0"
    return text + ("Z" if zulu else "")


def _duration(started: float | None, finished: float | None, now: float) -> int | None:
    """Whole seconds run so far (or in all), None when the thing never started."""
    return None if started is None else int((finished if finished is not None else now) - started)


def error(status: int, message: str) -> Response:
    """The documents' general error object: ``{message, supportId}``."""
    body: dict[str, Any] = {"message": message, "supportId": str(uuid.uuid4())}
    response = jsonify(body)
    response.status_code = status
    return response


class CaseInsensitivePaths:
    """WSGI middleware lower-casing the fixed words of a path, leaving ids untouched."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        parts = environ.get("PATH_INFO", "").split("/")
        environ["PATH_INFO"] = "/".join(p.lower() if p.lower() in _LITERALS else p for p in parts)
        return self.app(environ, start_response)


def create_app(store: Store, tokens: Tokens, breaks: Iterable[str] = ()) -> Flask:
    """Build the application around one store; ``breaks`` names the planted breaks to switch on."""
    broken = frozenset(breaks)
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.wsgi_app = CaseInsensitivePaths(app.wsgi_app)  # type: ignore[method-assign]

    def run_status(snap: Snapshot) -> dict[str, Any]:
        """A Process Run Status object."""
        respell = snap.status == CANCELLED and "cancel_status_respelled" in broken
        status = "Canceled" if respell else snap.status
        return {
            "id": snap.run.id,
            "dateStarted": _date(snap.started),
            "dateFinished": _date(snap.finished),
            "runDurationInSeconds": _duration(snap.started, snap.finished, snap.at),
            "status": status,
        }

    def step_status(snap: Snapshot, index: int) -> dict[str, Any]:
        """A Step Run Status object."""
        state: StepState = snap.states[index]
        body = {
            "id": snap.run.steps[index].id,
            "dateStarted": _date(state.started, zulu=True),
            "dateFinished": _date(state.finished, zulu=True),
            "runDurationInSeconds": _duration(state.started, state.finished, snap.at),
            "status": state.status,
            "completionMessage": state.message,
        }
        if "step_status_drops_completion_message" in broken:
            del body["completionMessage"]
        return body

    def snapshot_or_404(run_id: str) -> Snapshot | Response:
        snap = store.snapshot(run_id)
        return error(404, f"Process run {run_id} was not found.") if snap is None else snap

    @app.before_request
    def authorise() -> Response | None:
        """Every API operation needs a live bearer token; the token endpoint does not."""
        if not request.path.startswith("/api/"):
            return None
        token = bearer(request)
        if token is None:
            return error(403, "An access token is required: send 'Authorization: Bearer <token>'.")
        if not tokens.valid(token):
            return error(403, "The access token is invalid or has expired.")
        return None

    @app.after_request
    def drop_support_id(response: Response) -> Response:
        """Planted break: errors of GET /v1/processruns/{processRunId} lose their supportId."""
        if (
            "error_drops_support_id" in broken
            and response.status_code != 200
            and request.endpoint == "get_run"
            and response.is_json
        ):
            body = response.get_json()
            body.pop("supportId", None)
            response.set_data(app.json.dumps(body))
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(RunStateError)
    def state_error(exc: RunStateError) -> Response:
        return error(400, str(exc))

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        app.logger.exception("unhandled error")
        return error(500, "An exception has occurred during processing the request.")

    @app.post("/oauth/token")
    def token() -> Response:
        try:
            body = tokens.grant(request)
        except TokenError as exc:
            response = error(400, exc.message)
            payload = {"error": exc.code, "error_description": exc.message, **response.get_json()}
            response.set_data(app.json.dumps(payload))
            return response
        if "token_expires_in_string" in broken:
            body["expires_in"] = str(body["expires_in"])
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/api/v1/processruns/<run_id>", endpoint="get_run")
    def get_run(run_id: str) -> Response:
        snap = store.snapshot(run_id)
        if snap is None and "unknown_run_found" not in broken:
            return error(404, f"Process run {run_id} was not found.")
        run = snap.run if snap else None
        body = {
            "id": run_id,
            "name": run.name if run else "",
            "process": run.process if run else "",
            "alertEmailAddress": run.alert_email if run else "",
            "alertSMS": run.alert_sms if run else "",
            "description": run.description if run else "",
            "lastModifiedBy": run.last_modified_by if run else "",
            "dateModified": _date(run.modified if run else store.clock(), digits=7),
            "dateCreated": _date(run.created if run else store.clock(), digits=7),
        }
        if "process_run_field_renamed" in broken:
            body["createdDate"] = body.pop("dateCreated")
        return jsonify(body)

    @app.post("/api/v1/processruns/<run_id>/start")
    def start(run_id: str) -> Response:
        snap = store.start(run_id)
        if snap is None:
            return error(404, f"Process run {run_id} was not found.")
        body = run_status(snap)
        if "start_drops_date_finished" in broken:
            del body["dateFinished"]
        return jsonify(body)

    @app.post("/api/v1/processruns/<run_id>/cancel")
    def cancel(run_id: str) -> Response:
        return cancel_run(run_id)

    def cancel_run(run_id: str) -> Response:
        """Cancel, or (planted break) answer as if cancelled while the run goes on."""
        if "cancel_does_nothing" in broken:
            found = snapshot_or_404(run_id)
            if isinstance(found, Response):
                return found
            if found.status in ACTIVE:
                return jsonify({**run_status(found), "dateFinished": _date(found.at), "status": CANCELLED})
        snap = store.cancel(run_id)
        if snap is None:
            return error(404, f"Process run {run_id} was not found.")
        return jsonify(run_status(snap))

    @app.post("/api/v1/requests")
    def deprecated_request() -> Response:
        body = request.get_json(force=True, silent=True)  # the SDK's Content-Type is not checked
        if not isinstance(body, dict):
            return error(400, "The request body must be a Process Run Request JSON object.")
        kind, run_id = body.get("request"), body.get("processRunId")
        if not isinstance(run_id, str) or not run_id:
            return error(400, "processRunId is required.")
        if kind == START_RQ:
            return start(run_id)
        if kind == CANCEL_RQ:
            return cancel_run(run_id)
        return error(400, f"request must be '{START_RQ}' or '{CANCEL_RQ}'.")

    @app.get("/api/v1/processruns/<run_id>/runstatus")
    def run_status_of(run_id: str) -> Response:
        found = snapshot_or_404(run_id)
        if isinstance(found, Response):
            return found
        body = run_status(found)
        if (
            "finished_run_reverts" in broken
            and found.status == FINISHED
            and found.finished is not None
            and found.at >= found.finished + store.step_seconds
        ):
            body.update(
                status=RUNNING,
                dateFinished=None,
                runDurationInSeconds=_duration(found.started, None, found.at),
            )
        if "run_status_recased" in broken:
            body["status"] = body["status"].upper()
        if "run_duration_as_string" in broken and body["runDurationInSeconds"] is not None:
            body["runDurationInSeconds"] = str(body["runDurationInSeconds"])
        return jsonify(body)

    @app.get("/api/v1/processruns/<run_id>/steps")
    def data_steps(run_id: str) -> Response:
        found = snapshot_or_404(run_id)
        if isinstance(found, Response):
            return found
        if "steps_server_error" in broken:
            return error(500, "An exception has occurred during processing the request.")
        items = [
            {
                "isEnabled": s.enabled,
                "stepOrder": s.order,
                "id": s.id,
                "name": s.name,
                "orderedName": f"{s.order} {s.name}",
            }
            for s in found.run.steps
            if s.is_data
        ]
        if "steps_duplicated" in broken:
            items = [item for item in items for _ in range(2)]
        return jsonify(items)

    @app.get("/api/v1/processruns/<run_id>/steps/<step_id>/runstatus")
    def step_run_status(run_id: str, step_id: str) -> Response:
        found = snapshot_or_404(run_id)
        if isinstance(found, Response):
            return found
        index = found.run.step_index(step_id)
        if index is None:
            return error(404, f"Step {step_id} was not found in process run {run_id}.")
        return jsonify(step_status(found, index))

    @app.post("/api/v1/processruns/<run_id>/steps/<step_id>/restartfromhere")
    def restart(run_id: str, step_id: str) -> Response:
        found = snapshot_or_404(run_id)
        if isinstance(found, Response):
            return found
        result = store.restart_from(run_id, step_id)
        if result is None:
            return error(404, f"Step {step_id} was not found in process run {run_id}.")
        return jsonify(step_status(*result))

    return app
