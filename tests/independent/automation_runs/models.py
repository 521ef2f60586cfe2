"""The request and response bodies, as pydantic models shaped after the page's examples.

Python names are snake_case and the wire names camelCase (an alias generator), the way a FastAPI
service that renders such a page is usually written.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class RunStatus(StrEnum):
    """Run statuses; the page shows only ``pending``, the rest are this service's reading."""

    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL_STATUSES = frozenset({RunStatus.completed, RunStatus.failed, RunStatus.cancelled})


class OrchestratorType(StrEnum):
    """``local`` is the page's example; the other member is a guess and never emitted."""

    local = "local"
    kubernetes = "kubernetes"


class TriggerSourceType(StrEnum):
    """``user`` is the page's example; the other members are guesses and never emitted."""

    user = "user"
    schedule = "schedule"
    webhook = "webhook"
    api_key = "api_key"


class TriggerType(StrEnum):
    """``manual`` is the page's example; the other members are guesses and never emitted."""

    manual = "manual"
    scheduled = "scheduled"
    webhook = "webhook"
    api = "api"


class CamelModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class AutomationRun(CamelModel):
    """One run, with every member the page's example shows (``null`` where it does not apply)."""

    id: str
    automation_id: str
    automation_version_id: str
    version_number: int
    tenant_id: str
    status: RunStatus
    orchestrator_type: OrchestratorType
    trigger_type: TriggerType
    trigger_source_type: TriggerSourceType
    trigger_source_id: str | None = None
    concurrency_key: str | None = None
    external_job_id: str | None = None
    error: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None


class AutomationRunList(CamelModel):
    """List All Runs: one page of runs and the count of all that match."""

    items: list[AutomationRun]
    total: int


class RunStep(CamelModel):
    """One step of a run as Get Run Steps shows it."""

    key: str
    name: str
    status: str
    depends_on: list[str] = Field(default_factory=list)
    action_run_id: str | None = None
    decision_id: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_seconds: float | None = None
    result: dict[str, Any] | None = None
    result_truncated: bool = False
    error: dict[str, Any] | None = None


class RunSteps(CamelModel):
    """Get Run Steps: the steps and a count per live status."""

    automation_run_id: str
    completed_count: int
    failed_count: int
    pending_count: int
    running_count: int
    steps: list[RunStep]


class RetryRequest(BaseModel):
    """Retry Run's body; ``stepKey`` only means something with ``from_step``."""

    model_config = ConfigDict(alias_generator=to_camel)

    mode: Literal["from_failed", "from_step", "full"] = "from_failed"
    step_key: str | None = None

    @model_validator(mode="after")
    def _step_key_for_from_step(self) -> Self:
        if self.mode == "from_step" and not self.step_key:
            raise ValueError("stepKey is required when mode is 'from_step'")
        return self
