"""What ``conformance run`` accepts, checked before anything starts: no test engine here, so the
command line, the config file and the reports can read options without loading it."""

from __future__ import annotations

import math
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from conformance.bounds import MAX_BODY_BYTES, MAX_INPUT_BYTES, ReadLimits, printable, read_file
from conformance.engine.shard import Shard
from conformance.errors import UsageError
from conformance.findings import BREAKING, STRICT, FailPolicy
from conformance.redact import Redactor
from conformance.vendors.registry import get_api, resolve_apis

if TYPE_CHECKING:  # the HTTP client is loaded by what sends requests, not by reading options
    from conformance.http.policy import RequestPolicy

PHASES = ("examples", "coverage", "fuzzing", "stateful")
#: Ranges of the options (beyond them a value is a typo, or overflows a timer or a socket).
MAX_EXAMPLES = 1_000_000
MAX_WORKERS = 64
MAX_REQUEST_TIMEOUT = 3600.0
MAX_LIFECYCLE_TIMEOUT = 7 * 24 * 3600.0
MAX_RATE, MIN_RATE = 10_000.0, 1 / 60
MAX_TIME = 7 * 24 * 3600
#: Settings a config file may set for one API alone (its ``[run.<api>]`` section).
PER_API_SETTINGS = (
    "base_url",
    "headers",
    "include_operations",
    "exclude_operations",
    "rate_limit",
    "lifecycle_timeout",
    "poll_interval",
    "request_timeout",
    "max_examples",
    "parameters",
)
#: A header name as RFC 9110 section 5.1 spells it (a ``token``).
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


@dataclass
class RunOptions:
    """Everything ``conformance run`` accepts; defaults are the nightly defaults."""

    apis: list[str] = field(default_factory=list)
    base_url: str | None = None
    token: str | None = None
    #: The OAuth client to sign in as when no token is given (default: the vendor's variables).
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    max_examples: int = 10
    seed: int | None = None
    phases: tuple[str, ...] = PHASES
    workers: int = 1
    strict: bool = False
    #: ``--fail-on``: new drift that fails the run, ``breaking`` (default) or ``any`` (additive
    #: too); with ``,resolved`` a catalogued quirk the vendor seems to have fixed fails it too.
    fail_on: FailPolicy = BREAKING
    mock_mode: str = "faithful"
    #: Seconds for each read, and for a whole body once its headers have arrived.
    request_timeout: float = 10.0
    #: ``--max-body-mb`` in bytes, by the name results.json records it under; ``limits`` is the same
    #: bound as the request policy and the readers of files take it.
    max_body_bytes: int = MAX_BODY_BYTES
    #: Seconds a started run may take to end (default: 600 against a server, 30 against the mocks).
    lifecycle_timeout: float | None = None
    #: The first wait between polls of a started run, doubling up to 30 s (default: 1 s against a
    #: server, 0.05 s against the mocks).
    poll_interval: float | None = None
    #: Requests per second per API (schemathesis' and the lifecycle's together).
    rate_limit: float | None = None
    headers: tuple[tuple[str, str], ...] = ()
    proxy: str | None = None
    tls_verify: bool = True
    cacert: str | None = None
    include_operations: tuple[str, ...] = ()
    exclude_operations: tuple[str, ...] = ()
    #: ``--shard I/N``: check only this share of every selected API's operations.
    shard: Shard | None = None
    #: ``--parameter NAME=VALUE``: the value of every path or query parameter of that name, in
    #: every phase and the lifecycle (a tenant's workspace or process id), instead of the spec's
    #: examples. A ``[run.<api>]`` section's values are added to (and override) these by name.
    parameters: dict[str, str] = field(default_factory=dict)
    #: ``--checks`` / ``--exclude-checks``: schemathesis' checks to run (empty: all) and to skip.
    checks: tuple[str, ...] = ()
    exclude_checks: tuple[str, ...] = ()
    #: ``--max-failures N``: stop the run once N findings fail it.
    max_failures: int | None = None
    #: ``--max-time S``: the engine's time budget, shared by the run's APIs (schemathesis' meaning:
    #: fuzzing and stateful testing repeat until it is spent).
    max_time: int | None = None
    #: Settings of single APIs (from a config file), over the ones above.
    per_api: dict[str, dict[str, Any]] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.phases:
            raise UsageError("--phases is empty; choose from: " + ", ".join(PHASES))
        unknown = [p for p in self.phases if p not in PHASES]
        if unknown:
            raise UsageError(f"unknown phase {unknown[0]!r}; choose from: {', '.join(PHASES)}")
        if self.base_url is not None and len(resolve_apis(self.apis)) != 1:
            raise UsageError("--base-url points at one server: name exactly one API with it")
        if not isinstance(self.fail_on, FailPolicy):
            raise UsageError(f"fail_on is a FailPolicy (FailPolicy.parse(text)), not {self.fail_on!r}")
        if self.mock_mode not in ("faithful", "strict"):
            raise UsageError("--mock-mode must be faithful or strict")
        for name, settings in self.per_api.items():
            get_api(name)
            unknown = sorted(set(settings) - set(PER_API_SETTINGS))
            if unknown:
                raise UsageError(f"[run.{name}]: unknown setting {unknown[0]!r}")
        for api in resolve_apis(self.apis):
            self.for_api(api.name)._validate_values()

    def _validate_values(self) -> None:
        check_credential(self.token, "--token")
        if self.base_url is not None:
            check_base_url(self.base_url)
        if self.max_examples < 1 or self.workers < 1:
            raise UsageError("--max-examples and --workers must be at least 1")
        if not _positive(self.request_timeout) or self.max_body_bytes < 1:
            raise UsageError("--request-timeout and --max-body-mb must be positive")
        for name, value in (
            ("--lifecycle-timeout", self.lifecycle_timeout),
            ("--poll-interval", self.poll_interval),
            ("--rate-limit", self.rate_limit),
        ):
            if value is not None and not _positive(value):
                raise UsageError(f"{name} must be a positive number of seconds or requests")
        for name, value, top in (
            ("--max-examples", self.max_examples, MAX_EXAMPLES),
            ("--workers", self.workers, MAX_WORKERS),
            ("--request-timeout", self.request_timeout, MAX_REQUEST_TIMEOUT),
            ("--lifecycle-timeout", self.lifecycle_timeout, MAX_LIFECYCLE_TIMEOUT),
            ("--poll-interval", self.poll_interval, MAX_REQUEST_TIMEOUT),
            ("--rate-limit", self.rate_limit, MAX_RATE),
        ):
            if value is not None and value > top:
                raise UsageError(f"{name} must be at most {top:g}")
        if self.rate_limit is not None and self.rate_limit < MIN_RATE:
            raise UsageError(f"--rate-limit must be at least {MIN_RATE:g} (one request a minute)")
        if self.seed is not None and not 0 <= self.seed < 2**64:
            raise UsageError("--seed must be a whole number from 0 to 2**64 - 1")
        for operations in (self.include_operations, self.exclude_operations):
            for operation in operations:
                if not operation.strip():
                    raise UsageError("--include-operation and --exclude-operation need an operationId")
        self._validate_requests()

    def _validate_requests(self) -> None:
        """What travels with every request, refused before a server is contacted (an httpx or
        schemathesis error at the first request would be blamed on the server)."""
        for name, value in self.headers:
            check_header(name, value)
        for name, value in self.parameters.items():
            check_parameter(name, value)
        if self.proxy is not None:
            check_proxy(self.proxy)
        if self.cacert is not None:
            check_cacert(self.cacert)
        if self.max_failures is not None and self.max_failures < 1:
            raise UsageError("--max-failures must be at least 1")
        if self.max_time is not None and not 1 <= self.max_time <= MAX_TIME:
            raise UsageError(f"--max-time must be from 1 to {MAX_TIME} seconds")

    @property
    def limits(self) -> ReadLimits:
        """How much of a body and of a file this run reads, as the policy and the readers take it."""
        return ReadLimits(self.max_body_bytes)

    @property
    def fail_policy(self) -> FailPolicy:
        """What fails the run: any deviation under ``--strict``, else what ``--fail-on`` names."""
        return STRICT if self.strict else self.fail_on

    def for_api(self, name: str) -> RunOptions:
        """These options with the API's own section applied (its parameters added by name)."""
        if name not in self.per_api:
            return self
        section = self.per_api[name]
        parameters = {**self.parameters, **section.get("parameters", {})}
        return replace(self, **{**section, "parameters": parameters})

    def policy(self) -> RequestPolicy:
        """How this run sends and reads each request."""
        from conformance.http.policy import RequestPolicy

        verify: bool | str = self.cacert or self.tls_verify
        return RequestPolicy(
            params=split_base_url(self.base_url)[1] if self.base_url else (),
            timeout=self.request_timeout,
            limits=self.limits,
            headers=self.headers,
            proxy=self.proxy,
            verify=verify,
            rate_limit=self.rate_limit,
            parameters=tuple(self.parameters.items()),
        )

    def selects(self, operation_id: str) -> bool:
        """Whether ``--include-operation`` / ``--exclude-operation`` keep an operation."""
        if self.include_operations and operation_id not in self.include_operations:
            return False
        return operation_id not in self.exclude_operations


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def check_base_url(url: str) -> None:
    """A base URL the suite can append paths to; the message never shows its userinfo or query
    (they may hold a password or a key)."""
    import httpx  # read as the run's client reads it; loaded only when a URL is given

    if not url.strip():
        raise UsageError("--base-url is empty: give the server's URL, or leave it out to use the mocks")
    shown = printable(Redactor.for_target((), url).text(url))
    if any(ord(c) < 0x20 or c == "\x7f" or c.isspace() for c in url):
        raise UsageError(f"--base-url {shown!r} holds a space or a control character")
    try:
        parsed = httpx.URL(url)
        urlsplit(url).port  # noqa: B018 - a port out of range raises here
    except (httpx.InvalidURL, ValueError) as exc:
        raise UsageError(
            f"--base-url {shown!r} is not a URL: {Redactor.for_target((), url).text(str(exc))}"
        ) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--base-url {shown!r} is not an http(s) URL with a host")
    if parsed.fragment or url.rstrip().endswith("#"):
        raise UsageError(f"--base-url {shown!r} has a fragment (#...); paths are appended to the URL")


def split_base_url(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A base URL without its query (paths are appended to it), and the query's parameters,
    which are sent with every request instead."""
    parts = urlsplit(url)
    params = tuple(parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit(parts._replace(query="", fragment="")).rstrip("/"), params


def check_credential(token: str | None, source: str) -> None:
    """A credential must fit in a header: no CR, LF or other control character (never shown)."""
    if token and any(ord(c) < 0x20 or c == "\x7f" for c in token):
        raise UsageError(f"the credential from {source} holds a control character (CR, LF, ...); fix it")


def check_header(name: str, value: str) -> None:
    """A header httpx and schemathesis can send: an RFC 9110 name, and an ASCII value on one line
    (the message names the header, never its value: it may be a credential)."""
    shown = printable(name)[:100]
    if not _HEADER_NAME.fullmatch(name):
        raise UsageError(f"--header {shown!r} is not a header name (letters, digits and !#$%&'*+-.^_`|~)")
    if not value.isascii() or any(ord(c) < 0x20 or c == "\x7f" for c in value):
        raise UsageError(f"--header {shown!r}: its value must be ASCII on one line (percent-encode the rest)")


def check_parameter(name: str, value: str) -> None:
    """``--parameter NAME=VALUE``: a name, and a value that fits on one line."""
    if not name.strip() or any(ord(c) < 0x20 or c == "\x7f" for c in name + value):
        raise UsageError(f"--parameter {printable(name)[:100]!r} is not NAME=VALUE on one line")


def check_proxy(url: str) -> None:
    """A proxy both HTTP clients of a run can use: http:// or https:// with a host (schemathesis'
    ``requests`` and httpx need extra packages for SOCKS, which the suite does not install)."""
    import httpx

    shown = printable(Redactor.for_target((), url).text(url))[:200]
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise UsageError(f"--proxy {shown!r} is not a URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--proxy {shown!r}: give an http:// or https:// proxy URL with a host")


def check_cacert(path: str) -> None:
    """A CA bundle that exists, is a regular file (never a FIFO that hangs) and holds certificates."""
    where = Path(path)
    try:
        mode = where.stat().st_mode
    except OSError as exc:
        raise UsageError(f"--cacert {printable(path)!r}: {exc.strerror or 'cannot read'}") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"--cacert {printable(path)!r} is not a file")
    data = read_file(where, MAX_INPUT_BYTES, UsageError)
    import ssl  # here: only a run given --cacert needs it, and every command reads this module

    try:
        ssl.create_default_context().load_verify_locations(cadata=data.decode("ascii", "ignore"))
    except (ssl.SSLError, ValueError) as exc:
        cause = printable(str(getattr(exc, "reason", None) or exc))[:200]
        raise UsageError(f"--cacert {printable(path)!r} holds no PEM certificate ({cause})") from None
