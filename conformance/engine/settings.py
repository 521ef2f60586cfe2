"""Every option of ``run``, ``record`` and ``replay``, declared once.

The command line (``cli.arguments``), ``conformance.toml`` (``cli.config``) and the command that
repeats a run (``options.rerun`` in results.json, ``engine.provenance``) are all built from
``SETTINGS``, so an option cannot exist in one and be missing from another.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.bounds import ReadLimits, printable
from conformance.engine.options import PER_API_SETTINGS, PHASES, check_header
from conformance.engine.shard import Shard
from conformance.errors import UsageError
from conformance.findings import FailPolicy, fail_on_usage
from conformance.vendors.registry import APIS

#: ``--max-body-mb`` at most: a body is held in memory whole.
MAX_BODY_MB = 1024
RUN, RECORD, REPLAY = "run", "record", "replay"
COMMANDS = (RUN, RECORD, REPLAY)
#: The settings a recording shares with a run: where the server is and how to reach it.
_REACH = (RUN, RECORD)


def read_limits(value: Any) -> ReadLimits:
    """``--max-body-mb`` as the limits it sets: a finite positive number of megabytes, at most
    ``MAX_BODY_MB``."""
    number = float(value)
    if not math.isfinite(number) or number <= 0 or ReadLimits.from_megabytes(number).body_bytes < 1:
        raise UsageError("--max-body-mb must be positive")
    if number > MAX_BODY_MB:
        raise UsageError(f"--max-body-mb must be at most {MAX_BODY_MB}")
    return ReadLimits.from_megabytes(number)


def megabytes(value: Any) -> int:
    """``--max-body-mb`` as bytes, the unit ``RunOptions`` and results.json keep it in."""
    return read_limits(value).body_bytes


def header(text: Any) -> tuple[str, str]:
    """``'Name: value'`` as a header pair (``curl -H`` and schemathesis' ``-H`` form)."""
    name, separator, value = str(text).partition(":")
    if not separator or not name.strip() or any(ord(c) < 0x20 or c == "\x7f" for c in str(text)):
        shown = name.strip() if separator else "(no colon)"  # never the value: it may be a credential
        raise UsageError(f"--header {printable(shown)[:100]!r} is not 'Name: value' on one line")
    check_header(name.strip(), value.strip())
    return name.strip(), value.strip()


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(value)
    return float(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise TypeError(value)
    return int(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(value)
    return value


def _items(values: Any) -> list[str]:
    """A repeated option's values: a list (the command line, a TOML array) or one string."""
    if isinstance(values, str):
        return [values]
    if not isinstance(values, list | tuple):
        raise TypeError(values)
    return [_text(value) for value in values]


def _names(values: Any) -> tuple[str, ...]:
    """Comma-separated names, or a list of them (``phases = ["examples", "coverage"]``)."""
    return tuple(name.strip() for item in _items(values) for name in item.split(",") if name.strip())


def _headers(values: Any) -> tuple[tuple[str, str], ...]:
    return tuple(header(value) for value in _items(values))


def _parameters(values: Any) -> dict[str, str]:
    """``NAME=VALUE`` lines (the command line) or a table (``[run.<api>.parameters]``)."""
    if isinstance(values, dict):
        pairs = [(str(name), value) for name, value in values.items()]
    else:
        pairs = [(name, value) for name, _, value in (item.partition("=") for item in _items(values))]
        if any("=" not in item for item in _items(values)):
            raise TypeError(values)
    for _, value in pairs:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(value)
    return {name.strip(): str(value) for name, value in pairs}


def _choice(*choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in choices:
            raise ValueError(value)
        return str(value)

    convert.__doc__ = "one of: " + ", ".join(choices)
    return convert


#: What a value that does not convert should have been, by converter.
_HINTS: dict[Callable[[Any], Any], str] = {
    _number: "a number",
    _integer: "a whole number",
    _boolean: "true or false",
    _text: "a string",
    _names: "comma-separated names",
    _parameters: "NAME=VALUE",
    Path: "a path",
}


@dataclass(frozen=True)
class Setting:
    """One option: its long name (``--name`` on the command line, ``name`` in conformance.toml),
    the field it sets, and how a value is read and written back.

    ``kind``: ``value`` (one value), ``list`` (repeatable), ``switch`` (``--strict``), ``toggle``
    (``--tls-verify/--no-tls-verify``) or ``pairs`` (repeatable ``NAME=VALUE``, merged by name)."""

    name: str
    field: str
    help: str
    commands: tuple[str, ...] = (RUN,)
    convert: Callable[[Any], Any] = _text
    kind: str = "value"
    metavar: str | None = None
    short: str | None = None
    #: A value as the command line writes it (the rerun command).
    show: Callable[[Any], str] = str
    #: Credentials and where a run's files go: never in the file, or never in the rerun command.
    in_file: bool = True
    in_rerun: bool = True
    #: The default of a field outside ``RunOptions`` (``RunOptions``' own otherwise).
    default: Any = None
    #: Its key in conformance.toml, where not its name (``[run.<api>.parameters]``, as
    #: schemathesis' own config file spells it).
    file_key: str | None = None

    @property
    def key(self) -> str:
        return self.file_key or self.name

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def per_api(self) -> bool:
        """Whether a ``[run.<api>]`` section may set it."""
        return self.field in PER_API_SETTINGS

    @property
    def hint(self) -> str:
        return _HINTS.get(self.convert) or self.convert.__doc__ or "a valid value"

    def read(self, value: Any, where: str) -> Any:
        """``value`` (a command-line string or a TOML value) as the field holds it; a bad one is a
        one-line error naming ``where`` it came from."""
        try:
            return self.convert(value)
        except UsageError:
            raise
        except (TypeError, ValueError):
            shown = printable(repr(value))[:200]
            said = f"{self.flag} {shown}" if where == "command line" else f"{where}: {self.name} = {shown}"
            raise UsageError(f"{said} is not a valid value ({self.hint})") from None

    def words(self, value: Any) -> list[str]:
        """``value`` as command-line words (the rerun command)."""
        if self.kind == "switch":
            return [self.flag] if value else []
        if self.kind == "toggle":
            return [self.flag if value else f"--no-{self.name}"]
        if self.kind == "pairs":
            return [word for name, item in value.items() for word in (self.flag, f"{name}={item}")]
        if self.kind == "list":
            return [word for item in value for word in (self.flag, self.show(item))]
        return [self.flag, self.show(value)]


def _megabytes_shown(value: int) -> str:
    return f"{value / (1024 * 1024):g}"


SETTINGS: tuple[Setting, ...] = (
    Setting("config", "config", "settings file (default: ./conformance.toml if present)", COMMANDS,
            Path, metavar="FILE", in_file=False, in_rerun=False),
    Setting("base-url", "base_url", "the server (run: one API; default: embedded mocks)", _REACH),
    Setting("token", "token", "credential (default: the API's environment variable)", _REACH,
            in_file=False, in_rerun=False),
    Setting("client-id", "client_id", "sign in as this OAuth client when no token is given", _REACH,
            in_file=False, in_rerun=False),
    Setting("client-secret", "client_secret", "that client's secret (better: the API's variable)", _REACH,
            in_file=False, in_rerun=False),
    Setting("parameter", "parameters", "value of every path or query parameter NAME (a tenant's ids; "
            "repeatable)", _REACH, _parameters, "pairs", "NAME=VALUE", file_key="parameters"),
    Setting("max-examples", "max_examples", "hypothesis examples per operation and phase (10)",
            convert=_integer, metavar="N"),
    Setting("seed", "seed", "a seed, to repeat a run exactly", convert=_integer, metavar="N"),
    Setting("phases", "phases", f"comma-separated subset of {','.join(PHASES)} (all)", convert=_names,
            show=",".join),
    Setting("workers", "workers", "schemathesis workers per API (1)", convert=_integer, metavar="N"),
    Setting("checks", "checks", "comma-separated schemathesis checks to run (all)", convert=_names,
            metavar="NAMES", short="-c", show=",".join),
    Setting("exclude-checks", "exclude_checks", "comma-separated schemathesis checks to skip",
            convert=_names, metavar="NAMES", show=",".join),
    Setting("max-failures", "max_failures", "stop the run once N findings fail it", convert=_integer,
            metavar="N"),
    Setting("max-time", "max_time", "time budget of the engine in seconds, shared by the APIs; fuzzing "
            "and stateful testing repeat until it is spent", convert=_integer, metavar="SECONDS"),
    Setting("strict", "strict", "any deviation, known or new, fails", (RUN, REPLAY), _boolean, "switch"),
    Setting("fail-on", "fail_on", "new drift that fails: breaking (default) or any (additive too); "
            "with resolved, a catalogued quirk the vendor seems to have fixed fails too", (RUN, REPLAY),
            FailPolicy.parse, metavar=fail_on_usage()),
    Setting("mock-mode", "mock_mode", "embedded mocks' mode (faithful)",
            convert=_choice("faithful", "strict"), metavar="{faithful,strict}"),
    Setting("report-dir", "report_dir", "where reports go (reports/latest)", (RUN, REPLAY), Path,
            in_rerun=False, default=Path("reports/latest")),
    Setting("request-timeout", "request_timeout", "seconds per read, and for a whole body (10)", _REACH,
            _number, metavar="SECONDS"),
    Setting("max-body-mb", "max_body_bytes", "larger bodies are not read, a finding (10)", COMMANDS,
            megabytes, metavar="MB", show=_megabytes_shown),
    Setting("lifecycle-timeout", "lifecycle_timeout", "seconds a started run may take (600 real server, "
            "30 mocks)", _REACH, _number, metavar="SECONDS"),
    Setting("poll-interval", "poll_interval", "first wait between polls of a run, doubling to 30 s "
            "(1; mocks 0.05)", _REACH, _number, metavar="SECONDS"),
    Setting("rate-limit", "rate_limit", "requests per second per API (unlimited)", _REACH, _number,
            metavar="N"),
    Setting("header", "headers", "sent with every request (repeatable; credential-shaped values are "
            "redacted)", _REACH, _headers, "list", "'NAME: VALUE'", "-H", show=": ".join),
    Setting("proxy", "proxy", "http(s) proxy URL for every request", _REACH, metavar="URL"),
    Setting("tls-verify", "tls_verify", "verify TLS certificates (default: yes)", _REACH, _boolean,
            "toggle"),
    Setting("cacert", "cacert", "CA bundle (PEM) to verify TLS certificates against", _REACH, metavar="FILE"),
    Setting("include-operation", "include_operations", "check only these (repeatable)", convert=_names,
            kind="list", metavar="OPERATION_ID"),
    Setting("exclude-operation", "exclude_operations", "do not check these (repeatable)", convert=_names,
            kind="list", metavar="OPERATION_ID"),
    Setting("shard", "shard", "check the I-th of N shares of the operations (merge with report)",
            convert=Shard.parse, metavar="I/N"),
    Setting("out", "out", "cassette directory (default: cassettes/<api>/)", (RECORD,), Path),
    Setting("record-mode", "record_mode", "none: replay only", (RECORD,), _choice("all", "none"),
            metavar="{all,none}", default="all"),
    Setting("api", "api", "default: inferred from each request URL", (REPLAY,), _choice(*APIS),
            metavar="{" + ",".join(APIS) + "}"),
    Setting("skip-unknown", "skip_unknown", "count calls to other services (hosts or paths outside "
            "every contract) as skipped, not errors", (REPLAY,), _boolean, "switch", default=False),
)  # fmt: skip


def settings_of(command: str) -> list[Setting]:
    """The options of one command, in the order ``--help`` shows them."""
    return [setting for setting in SETTINGS if command in setting.commands]


def by_name(command: str) -> dict[str, Setting]:
    return {setting.name: setting for setting in settings_of(command)}


def rerun_words(values: dict[str, Any], defaults: dict[str, Any], shown: Callable[[str], str]) -> list[str]:
    """The ``run`` options among ``values`` (by field) that differ from ``defaults``, as
    command-line words; ``shown`` writes each word as an output may show it (redacted)."""
    words: list[str] = []
    for setting in settings_of(RUN):
        value = values.get(setting.field)
        if not setting.in_rerun or value is None or value == defaults.get(setting.field):
            continue
        words += [shown(word) for word in setting.words(value)]
    return words
