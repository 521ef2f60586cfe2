"""Judging recorded traffic exactly as a live run judges it.

Every interaction goes through the same response check and the same classifier as
``conformance run``, into the same ``ApiSession``, so a replay writes the same
results.json and junit.xml and exits with the same code. A bad file or interaction is
an error line naming it; the other files are still judged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..apis import APIS
from ..catalogue import load_catalogue
from ..checks import check_response
from ..model import ApiSession, RunResult
from ..redact import Redactor
from ..transport import MAX_BODY_BYTES, RequestPolicy
from .cassette import (
    ApiResolver,
    CassetteError,
    InteractionError,
    UnknownCall,
    cassette_files,
    load_cassette,
)

#: The ``source`` a replayed response is recorded under: the live run's contract check.
CHECK_SOURCE = "contract"


@dataclass
class Replay:
    """Sessions per API while a replay runs, and errors no API can own."""

    resolver: ApiResolver
    sessions: dict[str, ApiSession] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    unattributed: list[str] = field(default_factory=list)
    redactor: Redactor = field(default_factory=Redactor)
    max_body_bytes: int = MAX_BODY_BYTES
    #: Calls outside every contract are counted here instead of being errors.
    skip_unknown: bool = False
    skipped: int = 0

    def session(self, api: str) -> ApiSession:
        if api not in self.sessions:
            from ..specs import load_spec

            self.sessions[api] = ApiSession(
                load_spec(api),
                load_catalogue(api),
                self.redactor,
                RequestPolicy(max_body_bytes=self.max_body_bytes),
            )
        return self.sessions[api]

    def error(self, message: str, file: Path) -> None:
        """File an error under the API it concerns: the forced one, or one named by the file's path."""
        api = self.resolver.forced or next((part for part in reversed(file.parts) if part in APIS), None)
        if api is None:
            api = next((a for a in APIS if file.stem == a or file.stem.startswith(f"{a}-")), None)
        if api is None:
            self.unattributed.append(message)
        else:
            self.session(api)
            self.errors.setdefault(api, []).append(message)

    def judge_file(self, path: Path) -> None:
        try:
            interactions, problems = load_cassette(path)
        except CassetteError as exc:
            self.error(str(exc), path)
            return
        for problem in problems:
            self.error(problem, path)
        for interaction in interactions:
            try:
                target = self.resolver.resolve(interaction)
            except UnknownCall as exc:
                if self.skip_unknown:
                    self.skipped += 1
                else:
                    self.error(f"{interaction.where}: {exc}", path)
                continue
            except InteractionError as exc:
                self.error(f"{interaction.where}: {exc}", path)
                continue
            api = target.spec.api.name
            session = self.session(api)
            self.base_urls.setdefault(api, target.base_url)
            deviations = check_response(
                target.spec,
                target.operation,
                interaction.status,
                interaction.response_headers,
                interaction.body,
                self.max_body_bytes,
            )
            request = interaction.curl(self.redactor) if deviations else None
            session.record(target.operation, deviations, request, CHECK_SOURCE)


def replay(
    paths: list[Path],
    api: str | None = None,
    *,
    strict: bool = False,
    fail_on: str = "breaking",
    max_body_bytes: int = MAX_BODY_BYTES,
    skip_unknown: bool = False,
) -> tuple[RunResult, list[str]]:
    """Judge every interaction under ``paths``; also returns the errors no API could own.

    ``skip_unknown``: a call to a host no vendor has, or to a path that is no operation (a team's
    cassettes record other services too), is counted as skipped instead of being an error."""
    started_at, started = datetime.now(UTC), time.monotonic()
    state = Replay(ApiResolver(api), max_body_bytes=max_body_bytes, skip_unknown=skip_unknown)
    for path in cassette_files(paths):
        state.judge_file(path)
    duration = time.monotonic() - started
    results = [
        session.result(
            state.base_urls.get(name, "(no interaction)"), None, state.errors.get(name, []), duration
        )
        for name, session in sorted(state.sessions.items())
    ]

    finished_at = datetime.now(UTC)
    fail_rule = "strict" if strict else fail_on
    options = {
        "command": "replay",
        "paths": [str(path) for path in paths],
        "api": api,
        "strict": strict,
        "fail_on": fail_on,
        "max_body_bytes": max_body_bytes,
        "skip_unknown": skip_unknown,
    }
    result = RunResult(
        fail_rule,
        results,
        started_at,
        finished_at,
        not state.unattributed,
        options=options,
        skipped=state.skipped,
    )
    return result, state.unattributed
