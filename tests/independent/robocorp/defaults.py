"""Default tenant identifiers of the seeded Control Room workspace (all made up)."""

from __future__ import annotations

DEFAULT_WORKSPACE_ID = "2d3a7d3e-0c4b-4f0e-9a51-7c2f6a1b9e01"
DEFAULT_API_KEY = "rcwk_test_5f1c0b7e9a4d4e2b8c3a6f0d1e2b3c4d"
DEFAULT_PROCESS_ID = "6b7f0a52-1d2e-4c3b-8a9f-0e1d2c3b4a01"
DEFAULT_FAILING_PROCESS_ID = "6b7f0a52-1d2e-4c3b-8a9f-0e1d2c3b4a02"
DEFAULT_DISABLED_PROCESS_ID = "6b7f0a52-1d2e-4c3b-8a9f-0e1d2c3b4a03"
DEFAULT_NEW_RUN_ID = "9c1e5d40-7a2b-4e6f-b1c3-d4e5f6a7b801"
DEFAULT_IN_PROGRESS_RUN_ID = "9c1e5d40-7a2b-4e6f-b1c3-d4e5f6a7b802"
DEFAULT_STOPPING_RUN_ID = "9c1e5d40-7a2b-4e6f-b1c3-d4e5f6a7b803"
DEFAULT_COMPLETED_RUN_ID = "9c1e5d40-7a2b-4e6f-b1c3-d4e5f6a7b804"
DEFAULT_UNRESOLVED_RUN_ID = "9c1e5d40-7a2b-4e6f-b1c3-d4e5f6a7b805"
DEFAULT_STOPPED_RUN_ID = "9c1e5d40-7a2b-4e6f-b1c3-d4e5f6a7b806"

#: Keyword names accepted by ``serve(**ids)`` mapped to their defaults.
DEFAULT_IDS: dict[str, str] = {
    "workspace_id": DEFAULT_WORKSPACE_ID,
    "api_key": DEFAULT_API_KEY,
    "process_id": DEFAULT_PROCESS_ID,
    "failing_process_id": DEFAULT_FAILING_PROCESS_ID,
    "disabled_process_id": DEFAULT_DISABLED_PROCESS_ID,
    "new_run_id": DEFAULT_NEW_RUN_ID,
    "in_progress_run_id": DEFAULT_IN_PROGRESS_RUN_ID,
    "stopping_run_id": DEFAULT_STOPPING_RUN_ID,
    "completed_run_id": DEFAULT_COMPLETED_RUN_ID,
    "unresolved_run_id": DEFAULT_UNRESOLVED_RUN_ID,
    "stopped_run_id": DEFAULT_STOPPED_RUN_ID,
}
