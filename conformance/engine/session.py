"""The run-time sink of one API: the single door through which every finding of a run or replay
enters, under one lock, redacted and de-duplicated (results only read what it produced)."""

from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from conformance.bounds import MAX_REQUEST_CHARS, clip, printable, stored, stored_text
from conformance.contract.catalogue import Catalogue, Exchange
from conformance.contract.curl import credential_references
from conformance.contract.model import Operation, Spec
from conformance.findings import OUTCOMES, Deviation, FailPolicy, Finding, outcome
from conformance.http.policy import DEFAULT_POLICY, RequestPolicy
from conformance.judge.classify import FindingSet
from conformance.judge.context import Judgement
from conformance.judge.resolved import QuirkSightings
from conformance.judge.strict_json import NOT_JSON
from conformance.kinds import TRANSPORT_ERROR
from conformance.redact import PLACEHOLDER, Redactor
from conformance.results.model import ApiResult, OperationStats
from conformance.results.profile import Profile

#: The request that reproduces a case, or a way to write it: it is only written for the first
#: deviation of a finding, so a response that repeats a known finding costs no curl line.
Request = str | Callable[[], str | None] | None

#: How many deviations, as the server gave them, a session remembers it has seen: beyond it, the
#: memory is started afresh (a repeat is then redacted again, which costs time, not correctness).
SEEN_DEVIATIONS = 50_000
#: How many engine cases a session remembers the outcome of: a check that reports on a case
#: forgotten past it counts that response again (a count off by one, never a finding lost).
SEEN_CASES = 50_000


def one_line(text: str) -> str:
    """Server or engine text as one short line."""
    return " ".join(str(text).split())[:300]


def bounded_deviation(deviation: Deviation, redactor: Redactor) -> Deviation:
    """A deviation as outputs keep it: location, values and message printable and cut."""
    return replace(
        deviation,
        location=stored_text(redactor.text(deviation.location)),
        expected=stored(deviation.expected),
        observed=stored(deviation.observed),
        message=stored_text(deviation.message),
    )


@dataclass
class Tally:
    """What an ``ApiSession`` recorded: counts, findings, quirk sightings and the profile."""

    checks: Counter[str]
    stats: dict[str, OperationStats]
    sightings: Counter[str]
    findings: FindingSet
    profile: Profile


class ApiSession:
    """One API's findings, counts and quirk sightings while a run or replay judges it."""

    def __init__(
        self,
        spec: Spec,
        catalogue: Catalogue,
        redactor: Redactor,
        policy: RequestPolicy = DEFAULT_POLICY,
        operations: Iterable[str] | None = None,
    ) -> None:
        self.spec = spec
        self.policy = policy
        self.findings = FindingSet(catalogue)
        self.sightings = QuirkSightings(catalogue)
        self.redactor = redactor
        self.operations = {op: spec.operations[op] for op in (operations or spec.operations)}
        self.stats: dict[str, OperationStats] = {op: OperationStats() for op in self.operations}
        self.by_label = {op.label: op for op in spec.operations.values()}
        self.checks: Counter[str] = Counter()
        #: What the answers showed where the documents leave things open (``results.profile``).
        self.profile = Profile()
        self.lock = threading.Lock()
        #: Each deviation already seen (by its key as received), as it was stored.
        self._seen: dict[tuple[str, ...], Deviation] = {}
        #: Each engine case already counted: its operation and the outcome it counts as.
        self._cases: dict[str, tuple[str, str]] = {}
        #: Checks and phases the run left out (beyond the spec's), with why.
        self.adjusted: dict[str, str] = {}

    def record(
        self,
        operation: Operation,
        deviations: Judgement | Sequence[Deviation],
        request: Request,
        source: str,
        *,
        case: str | None = None,
    ) -> None:
        """The one door every finding of a run or replay enters by, under the lock: a judged
        response (a ``Judgement``, which also shows where catalogued quirks live) or deviations a
        step or check found. An operation the run did not select (another shard's, or excluded)
        is not judged here. ``case`` names the engine's case the answer belongs to, so that the
        checks of one response count it once, as its worst finding (``_count``)."""
        if operation.id not in self.operations:
            return
        with self.lock:
            self.checks[source] += 1
            exchange = None
            if isinstance(deviations, Judgement):
                status, exchange = deviations.status_code, deviations.exchange
                self.sightings.observe(operation.id, status, exchange)
                body = None if exchange.response is NOT_JSON else exchange.response
                context = deviations.context
                sent = (exchange.request_json, context.params)
                self.profile.observe(operation.id, status, body, context.elapsed, sent, context.remembered_as)
            if callable(request) and deviations:
                request = functools.cache(request)  # written once however many findings are new
            findings = [self.add(deviation, request, source, exchange) for deviation in deviations]
            if any(deviation.kind == TRANSPORT_ERROR for deviation in deviations):
                return  # no response: nothing was judged, so it is no case
            self._count(operation.id, outcome(findings), case)

    def failing(self, policy: FailPolicy) -> int:
        """How many findings so far fail a run under ``policy`` (``--max-failures`` counts them)."""
        with self.lock:
            return sum(1 for finding in self.findings.grouped() if policy.fails(finding))

    def count_check(self, name: str) -> None:
        """A check that ran on a response and found nothing."""
        with self.lock:
            self.checks[name] += 1

    def adjust(self, check: str, reason: str) -> None:
        """A check or phase the run left out, and why: the report says so beside the spec's own."""
        with self.lock:
            self.adjusted[check] = reason

    def _count(self, operation: str, found: str, case: str | None) -> None:
        """A judged response counts once, as its worst finding, whichever check found it: a check
        that finds more in a response already counted moves it to the worse outcome."""
        counted = self._cases.get(case) if case is not None else None
        if case is None or counted is None:
            stats = self.stats[operation]
            stats.cases += 1
            stats.outcomes[found] += 1
            if case is not None:
                if len(self._cases) >= SEEN_CASES:
                    self._cases.clear()
                self._cases[case] = (operation, found)
            return
        where, before = counted
        worse = max(before, found, key=OUTCOMES.index)
        if worse != before:
            outcomes = self.stats[where].outcomes
            outcomes[before] -= 1
            outcomes[worse] += 1
            self._cases[case] = (where, worse)

    def tally(self) -> Tally:
        """What this session recorded, without the spec and catalogue it judged by: what a replay's
        worker process hands back (``cassettes/parts.py``)."""
        return Tally(self.checks, self.stats, self.sightings.seen, self.findings.detached(), self.profile)

    def absorb(self, other: Tally) -> None:
        """Add what another session of the same API recorded later (its ``tally``) to this one."""
        with self.lock:
            self.checks.update(other.checks)
            for operation, stats in other.stats.items():
                mine = self.stats[operation]
                mine.cases += stats.cases
                mine.outcomes.update(stats.outcomes)
            self.sightings.seen.update(other.sightings)
            self.findings.absorb(other.findings)
            self.profile.absorb(other.profile)

    def add(
        self, deviation: Deviation, request: Request, source: str, exchange: Exchange | None = None
    ) -> Finding:
        """The one door a finding leaves the run by: whatever came from the server or the user (values,
        message, location, the reproducing request) is redacted here, so no report, console line or
        JUnit file can show a credential, then bounded: control characters escaped and every value
        cut to ``MAX_STORED_CHARS`` with a marker (a server's 2 MB value is not stored 2 MB long;
        counts stay exact). A deviation seen before only counts again: its finding keeps the first
        one's values and request either way. ``exchange`` (the request and response it was seen in) is
        what the catalogue's conditions read. Callers hold ``lock``."""
        raw = deviation.key
        seen = self._seen.get(raw)
        if seen is not None:
            return self.findings.add(seen, None, source=source, exchange=exchange)
        clean = bounded_deviation(self.redactor.deviation(deviation), self.redactor)
        text = request() if callable(request) else request
        if text:  # the credential, redacted, read from the vendor's variable (``$KOGNITOS_API_KEY``)
            text = credential_references(self.redactor.text(text), self.spec.api, PLACEHOLDER)
        shown = text and clip(printable(text, lines=True), MAX_REQUEST_CHARS)
        if len(self._seen) >= SEEN_DEVIATIONS:
            self._seen.clear()
        self._seen[raw] = clean
        return self.findings.add(clean, shown, source=source, exchange=exchange)

    def error(self, text: str) -> str:
        """An error line of this API, redacted, printable and on one line."""
        return printable(self.redactor.text(one_line(text)))

    def record_failed_request(self, operation: Operation, error: BaseException, request: Request) -> None:
        """A request the engine sent that got no answer a check could read."""
        from conformance.http.failures import unanswered  # httpx's errors: loaded by what sends

        self.record(operation, [unanswered(self.spec.api.name, operation, error)], request, "contract")

    def result(self, base_url: str, mock_mode: str | None, errors: list[str], duration: float) -> ApiResult:
        """Freeze what was recorded into an ``ApiResult`` (run and replay share this)."""
        api = self.spec.api
        findings = self.findings.grouped()
        resolved, unchecked = self.sightings.verdicts(findings, self.stats)
        return ApiResult(
            api=api.name,
            title=api.title,
            base_url=printable(self.redactor.text(base_url)),
            mock_mode=mock_mode,
            operations=self.operations,
            stats=self.stats,
            findings=findings,
            checks=self.checks,
            errors=[self.error(error) for error in errors],
            duration=duration,
            adjusted_checks={
                **{name: s.get("reason", "") for name, s in self.spec.check_settings.items()},
                **self.adjusted,
            },
            resolved=resolved,
            unchecked=unchecked,
            profile=self.profile.frozen(self.redactor.text, self.redactor.is_secret_key),
        )
