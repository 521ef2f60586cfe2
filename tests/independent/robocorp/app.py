"""aiohttp application serving Control Room's ProcessRunApi over an in-memory workspace.

Every handler first builds the documented answer, then ``breaks`` (planted contract breaks, off by
default) may bend it, so the broken and unbroken servers share all of their code but one spot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from .store import STATES, TERMINAL_STATES, ProcessDisabled, Store, UnknownProcess

DEFAULT_LIMIT = 100
MAX_LIMIT = 100
AUTH_SCHEME = "RC-WSKEY"
START_TYPES = ("with_work_item_ids", "with_inputs", "with_payloads")
CALLBACK_EVENTS = frozenset({"started", "completed", "unresolved"})


@dataclass(frozen=True)
class Config:
    """What the handlers need besides the store: the workspace key and the planted breaks."""

    api_key: str
    breaks: frozenset[str]


STORE = web.AppKey("store", Store)
CONFIG = web.AppKey("config", Config)


class ApiError(Exception):
    """An answer in the documented error shape ``{error: {code, message}}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn every failure, routing ones included, into the documented JSON error body."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.reason)
    except Exception as exc:  # a server must answer, and in the documented shape
        return error_response(500, "internal_error", f"unexpected error: {type(exc).__name__}")


async def add_cors_header(_request: web.Request, response: web.StreamResponse) -> None:
    """The page lists ``Access-Control-Allow-Origin`` on several answers; send it on all of them."""
    response.headers.setdefault("Access-Control-Allow-Origin", "*")


def store_of(request: web.Request) -> Store:
    return request.app[STORE]


def broken(request: web.Request, name: str) -> bool:
    return name in request.app[CONFIG].breaks


def authorize(request: web.Request) -> None:
    """``Authorization: RC-WSKEY <key>`` for the workspace in the path, else 403 Forbidden."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.upper() != AUTH_SCHEME or not _same(key.strip(), request.app[CONFIG].api_key):
        raise ApiError(403, "forbidden", "A valid API key is required: Authorization: RC-WSKEY <key>")
    if request.match_info["workspace_id"] != store_of(request).workspace_id:
        raise ApiError(403, "forbidden", "The API key does not grant access to this workspace")


def parse_limit(request: web.Request) -> int:
    """``limit`` is a number: fractions are floored, values above the maximum are capped."""
    raw = request.query.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, "invalid_limit", "limit must be a number") from None
    if not math.isfinite(value) or value < 1:
        raise ApiError(400, "invalid_limit", "limit must be at least 1")
    return min(int(value), MAX_LIMIT)


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["created_at"], item["id"]


def page(request: web.Request, items: list[dict[str, Any]], limit: int | None) -> dict[str, Any]:
    """Keyset paging, newest first: ``next`` is an absolute URL carrying an opaque ``cursor``."""
    items = sorted(items, key=_key, reverse=True)
    cursor = request.query.get("cursor")
    if cursor:
        try:
            after = tuple(json.loads(base64.urlsafe_b64decode(cursor.encode())))
        except (ValueError, TypeError, binascii.Error):
            after = ()
        if len(after) != 2 or not all(isinstance(part, str) for part in after):
            raise ApiError(400, "invalid_cursor", "cursor is not one this server handed out")
        items = [item for item in items if _key(item) < after]
    if limit is None or len(items) <= limit:
        return {"next": None, "has_more": False, "data": items}
    data = items[:limit]
    token = base64.urlsafe_b64encode(json.dumps(list(_key(data[-1]))).encode()).decode()
    next_url = request.url.with_query({**request.query, "cursor": token})
    return {"next": str(next_url), "has_more": True, "data": data}


def as_resumed(view: dict[str, Any], now: float, step: float) -> dict[str, Any]:
    """Break ``finished_run_resumes``: a run finished over a step ago claims to be running again."""
    ended = view["ended_at"]
    if (
        view["state"] in TERMINAL_STATES
        and ended is not None
        and now - datetime.fromisoformat(ended.replace("Z", "+00:00")).timestamp() >= step
    ):
        return {**view, "state": "in_progress", "ended_at": None, "duration": None}
    return view


def bend_run(request: web.Request, view: dict[str, Any], now: float) -> dict[str, Any]:
    """Breaks shared by the operations that return ProcessRunResource."""
    if broken(request, "finished_run_resumes"):
        view = as_resumed(view, now, store_of(request).step)
    if broken(request, "duration_as_string") and view["duration"] is not None:
        view = {**view, "duration": str(view["duration"])}
    return view


async def list_process_runs(request: web.Request) -> web.Response:
    authorize(request)
    if broken(request, "list_500"):
        raise ApiError(500, "internal_error", "The process runs could not be listed")
    state = request.query.get("state")
    if state is not None and state not in STATES:
        raise ApiError(400, "invalid_state", f"state must be one of {', '.join(STATES)}")
    limit = parse_limit(request)
    now = time.time()
    if broken(request, "state_filter_ignored"):
        state = None
    runs = store_of(request).list_runs(now, request.query.get("process_id"), state)
    body = page(
        request,
        [bend_run(request, r, now) for r in runs],
        None if broken(request, "limit_ignored") else limit,
    )
    if broken(request, "state_recased"):
        body["data"] = [{**r, "state": r["state"].upper()} for r in body["data"]]
    if broken(request, "list_duplicates"):
        body["data"] = [r for r in body["data"] for _ in (0, 1)]
    return web.json_response(body)


async def get_process_run(request: web.Request) -> web.Response:
    authorize(request)
    now = time.time()
    view = store_of(request).get(request.match_info["process_run_id"], now)
    if view is None:
        if broken(request, "error_body_flat"):
            return web.json_response({"message": "Process run not found"}, status=404)
        raise ApiError(404, "not_found", "Process run not found")
    view = bend_run(request, view, now)
    if broken(request, "state_renamed"):
        view = {("status" if k == "state" else k): v for k, v in view.items()}
    return web.json_response(view)


async def delete_process_run(request: web.Request) -> web.Response:
    authorize(request)
    run_id = request.match_info["process_run_id"]
    store = store_of(request)
    if broken(request, "delete_noop"):
        outcome = "deleted" if store.get(run_id, time.time()) else "missing"
    else:
        outcome = store.delete(run_id, time.time())
    if outcome == "missing":
        raise ApiError(404, "not_found", "Process run not found")
    if outcome == "active":
        raise ApiError(409, "conflict", "The process run is still active; stop it before deleting it")
    return web.json_response({"id": run_id, "deleted": True})


async def read_json(request: web.Request) -> tuple[bool, Any]:
    """(present, value) of the JSON body; an empty body is absent, an unparsable one is a 400."""
    raw = await request.read()
    if not raw.strip():
        return False, None
    try:  # bytes that are not UTF-8 are as unparsable as bad JSON
        return True, json.loads(raw.decode("utf-8"))
    except ValueError:
        raise ApiError(400, "invalid_body", "The request body is not valid JSON") from None


async def stop_process_run(request: web.Request) -> web.Response:
    authorize(request)
    present, body = await read_json(request)
    if not present or not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "A JSON object body is required")
    for name in ("set_remaining_work_items_as_done", "terminate_ongoing_activity_runs"):
        if not isinstance(body.get(name), bool):
            raise ApiError(400, "invalid_body", f"{name} is required and must be a boolean")
    if "reason" in body and not isinstance(body["reason"], str):
        raise ApiError(400, "invalid_body", "reason must be a string")
    run_id, store = request.match_info["process_run_id"], store_of(request)
    now = time.time()
    if broken(request, "stop_noop"):
        accepted: bool | None = True if store.get(run_id, now) else None
    else:
        accepted = store.stop(run_id, body["set_remaining_work_items_as_done"], now)
    if accepted is None:
        raise ApiError(404, "not_found", "Process run not found")
    return web.json_response({"accepted": accepted})


def check_callback(callback: Any) -> None:
    """``callback`` needs ``url``, ``secret`` and ``callback_events`` (it is recorded, not called)."""
    if not isinstance(callback, dict):
        raise ApiError(400, "invalid_body", "callback must be an object")
    for name in ("url", "secret"):
        if not isinstance(callback.get(name), str) or not callback[name]:
            raise ApiError(400, "invalid_body", f"callback.{name} is required and must be a string")
    events = callback.get("callback_events")
    if not isinstance(events, list) or not all(e in CALLBACK_EVENTS for e in events):
        raise ApiError(
            400, "invalid_body", "callback.callback_events must be an array of started, completed, unresolved"
        )


def start_inputs(present: bool, body: Any) -> list[Any] | None:
    """Input payloads of the requested start (None: take the waiting input work items)."""
    if not present:
        return [None]
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object")
    if "callback" in body:
        check_callback(body["callback"])
    kind = body.get("type")
    if kind is None:
        return [None]
    if kind not in START_TYPES:
        raise ApiError(400, "invalid_body", f"type must be one of {', '.join(START_TYPES)}")
    if kind == "with_inputs":
        return None
    field = "work_item_ids" if kind == "with_work_item_ids" else "payloads"
    values = body.get(field)
    if not isinstance(values, list) or not values:
        raise ApiError(400, "invalid_body", f"{field} must be a non-empty array")
    if kind == "with_work_item_ids":
        if not all(isinstance(v, str) and v for v in values):
            raise ApiError(400, "invalid_body", "work_item_ids must be strings")
        return [None for _ in values]
    return list(values)


def check_process(store: Store, process_id: str, conflict_status: int) -> None:
    """An unknown process is a 400; a disabled one answers ``conflict_status``."""
    try:
        store.process(process_id)
    except UnknownProcess:
        raise ApiError(400, "process_not_found", "No such process in this workspace") from None
    except ProcessDisabled:
        raise ApiError(conflict_status, "process_disabled", "The process is disabled") from None


def start(store: Store, process_id: str, inputs: list[Any] | None, conflict_status: int) -> str | None:
    """Start a run of a startable process (see ``check_process`` for the refusals)."""
    check_process(store, process_id, conflict_status)
    return store.start(process_id, inputs)


async def start_process_run(request: web.Request) -> web.Response:
    authorize(request)
    present, body = await read_json(request)
    inputs = start_inputs(present, body)
    run_id = start(store_of(request), request.match_info["process_id"], inputs, 409)
    if run_id is None:
        return web.json_response({"started": False})
    if broken(request, "start_drops_id"):
        return web.json_response({"started": True})
    return web.json_response({"started": True, "id": run_id})


async def start_process_run_qs_auth(request: web.Request) -> web.Response:
    """Key in ``token``; every refusal is the one documented error, 400; optional Asana handshake."""
    token = request.query.get("token", "")
    key_ok = _same(token, request.app[CONFIG].api_key)
    if not broken(request, "integrations_token_ignored"):
        if not token:
            raise ApiError(400, "missing_token", "The token query parameter is required")
        if not key_ok or request.match_info["workspace_id"] != store_of(request).workspace_id:
            raise ApiError(400, "invalid_token", "The token does not grant access to this workspace")
    handshake = request.query.get("with_handshake")
    if handshake is not None and handshake != "asana":
        raise ApiError(400, "invalid_handshake", "with_handshake must be asana")
    store, process_id = store_of(request), request.match_info["process_id"]
    raw = await request.read()
    if handshake == "asana" and "X-Hook-Secret" in request.headers:
        check_process(store, process_id, 400)
        secret = request.headers["X-Hook-Secret"]
        store.set_hook_secret(process_id, secret)
        return web.json_response({"started": False}, headers={"X-Hook-Secret": secret})
    signature = request.headers.get("X-Hook-Signature")
    if handshake == "asana" and signature is not None:
        secret = store.hook_secret(process_id)
        expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest() if secret else ""
        if not secret or not _same(signature, expected):
            raise ApiError(400, "invalid_signature", "X-Hook-Signature does not match the handshake secret")
    present, body = await read_json(request)
    if not present:
        raise ApiError(400, "invalid_body", "A JSON request body is required; it becomes the input work item")
    run_id = start(store, process_id, [body], 400)
    return web.json_response({"started": True, "id": run_id})


async def list_process_run_outputs(request: web.Request) -> web.Response:
    """Outputs of one run (path form, or ``process_run_id`` query on the seed's path) or all runs."""
    authorize(request)
    limit = parse_limit(request)
    run_id = request.match_info.get("process_run_id") or request.query.get("process_run_id")
    outputs = store_of(request).outputs(time.time(), run_id)
    return web.json_response(page(request, outputs, limit))


def make_app(store: Store, config: Config) -> web.Application:
    """The application: the vendor's paths, relative to the base URL, no prefix."""
    app = web.Application(middlewares=[errors_middleware])
    app[STORE], app[CONFIG] = store, config
    app.on_response_prepare.append(add_cors_header)
    ws = "/workspaces/{workspace_id}"
    run = ws + "/process-runs/{process_run_id}"
    app.router.add_get(ws + "/process-runs", list_process_runs)
    app.router.add_get(run, get_process_run)
    app.router.add_delete(run, delete_process_run)
    app.router.add_post(run + "/stop", stop_process_run)
    app.router.add_get(run + "/outputs", list_process_run_outputs)
    app.router.add_get(ws + "/outputs", list_process_run_outputs)
    app.router.add_post(ws + "/processes/{process_id}/process-runs", start_process_run)
    app.router.add_post(ws + "/processes/{process_id}/process-runs-integrations", start_process_run_qs_auth)
    return app


def _same(given: str, expected: str) -> bool:
    """A constant-time comparison of any text a client sends (``compare_digest`` takes only ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))
