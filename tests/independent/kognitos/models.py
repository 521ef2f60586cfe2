"""msgspec models for the Kognitos REST API v2 Runs resources, with the documented constraints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

#: Ids are 1-26 characters of ``^[a-zA-Z0-9-_]+$`` (the seed, on every ``*_id`` body field).
ID_PATTERN = r"^[a-zA-Z0-9-_]+$"
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=26, pattern=ID_PATTERN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]

#: ``ProcessStage`` from the OpenAPI fragment the vendor notes quote.
Stage = Literal["Draft", "Published"]
STAGES: tuple[str, ...] = ("Draft", "Published")

#: Run statuses this server uses; the documents only show ``Created`` and leave the set open.
CREATED, RUNNING, COMPLETED, FAILED = "Created", "Running", "Completed", "Failed"
TERMINAL: frozenset[str] = frozenset({COMPLETED, FAILED})

LIMIT_DEFAULT, LIMIT_MAX = 10, 100


class NamedValue(msgspec.Struct):
    """One ``{"name": ..., "value": ...}`` pair, the shape of the inputs and outputs examples."""

    name: str
    value: Any


class StartRun(msgspec.Struct):
    """Body of ``POST /runs``; unknown fields are ignored."""

    agent_id: Id
    name: Name
    process_id: Id
    stage: Stage
    file_ids: list[str] | None = None
    inputs: list[NamedValue] | None = None


class Run(msgspec.Struct):
    """The run resource of ``GET /runs/{run_id}``; every documented field is always sent."""

    agent_id: str
    created_at: str
    file_ids: list[str] | None
    id: str
    name: str
    outputs: list[NamedValue] | None
    process_id: str
    stage: str
    status: str


class ListResponse(msgspec.Struct):
    """``ListResponse``: both fields are required, ``continuation_token`` is null on the last page."""

    continuation_token: str | None
    items: list[Run]


class ErrorDetail(msgspec.Struct):
    """One entry of ``ErrorModel.details``: where the problem is and what it is."""

    loc: list[str]
    msg: str
    type: str


class ErrorModel(msgspec.Struct):
    """``ErrorModel`` from the OpenAPI fragment: message, HTTP status code and optional details."""

    message: str
    status_code: int
    details: list[ErrorDetail] | None = None
