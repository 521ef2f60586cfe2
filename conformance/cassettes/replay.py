"""Judging recorded traffic exactly as a live run judges it.

Every interaction goes through the same response check and the same classifier as
``conformance run``, into the same ``ApiSession``, so a replay writes the same
results.json and junit.xml and exits with the same code. A bad file or interaction is
an error line naming it; the other files are still judged.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from conformance.bounds import DEFAULT_LIMITS, ReadLimits
from conformance.cassettes import parts
from conformance.cassettes.cassette import (
    ApiResolver,
    CassetteError,
    Interaction,
    InteractionError,
    NotAlone,
    Target,
    UnknownCall,
    cassette_files,
    cassette_text,
    entries,
    interactions,
    raw_interactions,
)
from conformance.contract.catalogue import load_catalogue
from conformance.engine.session import ApiSession, Tally
from conformance.findings import BREAKING, STRICT, FailPolicy
from conformance.http.policy import RequestPolicy
from conformance.judge.registry import check_response
from conformance.redact import Redactor
from conformance.results.model import RunResult
from conformance.vendors.registry import APIS

#: The ``source`` a replayed response is recorded under: the live run's contract check.
CHECK_SOURCE = "contract"
#: How many calls (method and URI) a replay remembers the operation of; beyond it, it starts afresh.
REMEMBERED_TARGETS = 4096


@dataclass
class Replay:
    """Sessions per API while a replay runs, and errors no API can own."""

    resolver: ApiResolver
    sessions: dict[str, ApiSession] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    unattributed: list[str] = field(default_factory=list)
    redactor: Redactor = field(default_factory=Redactor)
    limits: ReadLimits = DEFAULT_LIMITS
    #: Calls outside every contract are counted here instead of being errors.
    skip_unknown: bool = False
    skipped: int = 0
    #: The operation each call landed on, by method and URI (``target``).
    targets: dict[tuple[str, str], Target] = field(default_factory=dict)

    def session(self, api: str) -> ApiSession:
        if api not in self.sessions:
            self.sessions[api] = self._new_session(api)
        return self.sessions[api]

    def _new_session(self, api: str) -> ApiSession:
        from conformance.contract.specs import load_spec

        return ApiSession(
            load_spec(api),
            load_catalogue(api),
            self.redactor,
            RequestPolicy(limits=self.limits),
        )

    def target(self, interaction: Interaction) -> Target:
        """Where an interaction lands, located once per method and URI: recorded traffic repeats a
        few URIs (a run polled until it ends, a page listed again). A call that lands nowhere raises
        each time, as ``ApiResolver.resolve`` does."""
        key = (interaction.method, interaction.uri)
        target = self.targets.get(key)
        if target is None:
            target = self.resolver.resolve(interaction)
            if len(self.targets) >= REMEMBERED_TARGETS:
                self.targets.clear()
            self.targets[key] = target
        return target

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

    def judge_files(self, paths: Iterable[Path]) -> None:
        """Judge each file into sessions of its own, added to the replay's in the order of the files
        (a file that turns out unreadable part-way counts only as its error, as if it had been read
        first). The work is shared out among the cores (``parts.py``): a large file's parts, or a
        run of smaller files, each of them whole."""
        batch: list[Path] = []
        for path in paths:
            if _size(path) <= parts.SMALL_FILE_BYTES:
                batch.append(path)
                continue
            self._commit_batch(batch)
            batch = []
            self._commit(path, self._read(path, share=True))
        self._commit_batch(batch)

    def _commit_batch(self, batch: list[Path]) -> None:
        for path, read in zip(batch, parts.forked_map(self._read, batch), strict=True):
            self._commit(path, read)

    def _read(self, path: Path, share: bool = False) -> list[_Part] | str:
        """What a file's interactions add, a ``_Part`` for each ``parts.PART_ENTRIES`` of them (its
        parts shared out among the cores when ``share``), or why it cannot be read."""
        try:
            text, spans = cassette_text(path, self.limits)  # its bytes not kept: no worker inherits them
            if spans is not None and len(spans) > parts.PART_ENTRIES:
                judge = partial(self._judge_part, path, text)
                cut = parts.cut(spans)
                judged = parts.forked_map(judge, cut) if share else list(map(judge, cut))
                if not any(part.whole for part in judged):
                    return judged
            file = _File(self)
            for item in interactions(path, raw_interactions(path, text, spans), self.limits):
                file.take(item)
        except CassetteError as exc:
            return str(exc)
        return [file.part()]

    def _judge_part(self, path: Path, text: str, part: tuple[int, list[tuple[int, int]]]) -> _Part:
        first, spans = part
        file = _File(self)
        try:
            for item in interactions(path, entries(path, text, spans, first), self.limits, first + 1):
                file.take(item)
        except NotAlone:
            return _Part(whole=True)
        return file.part()

    def _commit(self, path: Path, read: list[_Part] | str) -> None:
        """Add a file's parts as consecutive files would be added, or its error. (Entries that read
        alone share no YAML aliases, so their bodies as stored never add up to more than the file's
        own size: the budget of the file holds for its parts together.)"""
        if isinstance(read, str):
            self.error(read, path)
            return
        problems = [message for part in read for message in part.problems]
        for message in problems + [message for part in read for message in part.errors]:
            self.error(message, path)
        for part in read:
            for api, tally in part.tallies.items():
                self.session(api).absorb(tally)
                self.base_urls.setdefault(api, part.base_urls[api])
            self.skipped += part.skipped


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read with the small files, where the error is reported in order


@dataclass
class _Part:
    """What a part of a file added (``Replay._judge_part``), as a worker process hands it back;
    ``whole``: an entry does not read alone, and the file is read whole instead."""

    tallies: dict[str, Tally] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0
    whole: bool = False


@dataclass
class _File:
    """What one file's interactions added, kept apart until the whole file has been read."""

    replay: Replay
    sessions: dict[str, ApiSession] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: int = 0

    def take(self, item: Interaction | str) -> None:
        """Judge an interaction, or keep the line saying why an entry could not be read."""
        if isinstance(item, str):
            self.problems.append(item)
        else:
            self.judge(item)

    def judge(self, interaction: Interaction) -> None:
        replay = self.replay
        try:
            target = replay.target(interaction)
        except UnknownCall as exc:
            if replay.skip_unknown:
                self.skipped += 1
            else:
                self.errors.append(f"{interaction.where}: {exc}")
            return
        except InteractionError as exc:
            self.errors.append(f"{interaction.where}: {exc}")
            return
        api = target.spec.api.name
        if api not in self.sessions:
            self.sessions[api] = replay._new_session(api)
        self.base_urls.setdefault(api, target.base_url)
        deviations = check_response(
            target.spec,
            target.operation,
            interaction.status,
            interaction.response_headers,
            interaction.body,
            replay.limits,
            request_body=interaction.request_body,
        )
        self.sessions[api].record(
            target.operation, deviations, lambda: interaction.curl(replay.redactor), CHECK_SOURCE
        )

    def part(self) -> _Part:
        tallies = {api: session.tally() for api, session in self.sessions.items()}
        return _Part(tallies, self.base_urls, self.problems, self.errors, self.skipped)


def replay(
    paths: list[Path],
    api: str | None = None,
    *,
    strict: bool = False,
    fail_on: FailPolicy = BREAKING,
    limits: ReadLimits = DEFAULT_LIMITS,
    skip_unknown: bool = False,
) -> tuple[RunResult, list[str]]:
    """Judge every interaction under ``paths``; also returns the errors no API could own.

    ``skip_unknown``: a call to a host no vendor has, or to a path that is no operation (a team's
    cassettes record other services too), is counted as skipped instead of being an error."""
    started_at, started = datetime.now(UTC), time.monotonic()
    state = Replay(ApiResolver(api), limits=limits, skip_unknown=skip_unknown)
    state.judge_files(cassette_files(paths))
    duration = time.monotonic() - started
    results = [
        session.result(
            state.base_urls.get(name, "(no interaction)"), None, state.errors.get(name, []), duration
        )
        for name, session in sorted(state.sessions.items())
    ]

    finished_at = datetime.now(UTC)
    options = {
        "command": "replay",
        "paths": [str(path) for path in paths],
        "api": api,
        "strict": strict,
        "fail_on": str(fail_on),
        "max_body_bytes": limits.body_bytes,  # results.json's name for it, as a run records it
        "skip_unknown": skip_unknown,
    }
    result = RunResult(
        STRICT if strict else fail_on,
        results,
        started_at,
        finished_at,
        not state.unattributed,
        options=options,
        skipped=state.skipped,
    )
    return result, state.unattributed
