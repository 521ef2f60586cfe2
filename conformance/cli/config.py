"""``conformance.toml``: the settings of ``conformance run``, so a nightly job is one short line.

```toml
[run]                      # every API
fail-on = "breaking"
rate-limit = 5             # requests per second per API
lifecycle-timeout = 900
header = ["X-Tenant: acme"]

[run.kognitos]             # one API: its server and anything else above
base-url = "https://rest-api.app.kognitos.com/v2"
exclude-operation = ["startRun"]
```

Keys are the long options of ``conformance run`` without their dashes; the command line
overrides the file, the ``[run.<api>]`` sections override ``[run]``. Credentials never live
here: they come from each vendor's environment variable (or ``--token``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.bounds import printable, read_text
from conformance.engine.options import PER_API_SETTINGS, RunOptions
from conformance.engine.shard import Shard
from conformance.errors import UsageError
from conformance.findings import FailPolicy
from conformance.vendors.registry import APIS

CONFIG_FILE = Path("conformance.toml")
MAX_CONFIG_BYTES = 1024 * 1024


def header(text: str) -> tuple[str, str]:
    """``'Name: value'`` as a header pair."""
    name, separator, value = str(text).partition(":")
    if not separator or not name.strip() or any(ord(c) < 0x20 or c == "\x7f" for c in str(text)):
        shown = name.strip() if separator else "(no colon)"  # never the value: it may be a credential
        raise UsageError(f"--header {printable(shown)[:100]!r} is not 'Name: value' on one line")
    return name.strip(), value.strip()


#: ``--max-body-mb`` at most: a body is held in memory whole.
MAX_BODY_MB = 1024


def megabytes(value: Any) -> int:
    number = float(value)
    if not math.isfinite(number) or number <= 0 or int(number * 1024 * 1024) < 1:
        raise UsageError("--max-body-mb must be positive")
    if number > MAX_BODY_MB:
        raise UsageError(f"--max-body-mb must be at most {MAX_BODY_MB}")
    return int(number * 1024 * 1024)


def _names(values: Any) -> tuple[str, ...]:
    items = values.split(",") if isinstance(values, str) else list(values)
    return tuple(str(item).strip() for item in items if str(item).strip())


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


#: Option (as spelled in the file, without dashes) -> (``RunOptions`` field, converter).
SETTINGS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "base-url": ("base_url", str),
    "max-examples": ("max_examples", _integer),
    "seed": ("seed", _integer),
    "phases": ("phases", _names),
    "workers": ("workers", _integer),
    "strict": ("strict", _boolean),
    "fail-on": ("fail_on", FailPolicy.parse),
    "mock-mode": ("mock_mode", str),
    "request-timeout": ("request_timeout", _number),
    "max-body-mb": ("max_body_bytes", megabytes),
    "lifecycle-timeout": ("lifecycle_timeout", _number),
    "poll-interval": ("poll_interval", _number),
    "rate-limit": ("rate_limit", _number),
    "header": ("headers", lambda values: tuple(header(v) for v in _names_keep(values))),
    "proxy": ("proxy", str),
    "tls-verify": ("tls_verify", _boolean),
    "cacert": ("cacert", str),
    "include-operation": ("include_operations", _names),
    "exclude-operation": ("exclude_operations", _names),
    "shard": ("shard", Shard.parse),
}


def _names_keep(values: Any) -> list[str]:
    """Header lines as given (a value may hold commas)."""
    return [values] if isinstance(values, str) else [str(v) for v in values]


def convert(name: str, value: Any, where: str) -> tuple[str, Any]:
    """One setting as the ``RunOptions`` field it sets; a bad value is a one-line error."""
    if name not in SETTINGS:
        raise UsageError(f"{where}: unknown setting {name!r}")
    field_name, converter = SETTINGS[name]
    try:
        return field_name, converter(value)
    except UsageError:
        raise
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {name} = {value!r} is not a valid value") from None


def read_config(path: Path | None) -> tuple[Path, dict[str, Any]] | None:
    """``path`` (default: ``./conformance.toml`` when it exists) and its tables: ``[run]``, and
    ``[profile]`` (``cli.thresholds``)."""
    if path is None:
        if not CONFIG_FILE.is_file():
            return None
        path = CONFIG_FILE
    if path.is_file() and path.stat().st_size > MAX_CONFIG_BYTES:
        raise UsageError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; not a config file")
    text = read_text(path, UsageError, missing="no such config file")
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    unknown = sorted(set(document) - {"run", "profile"})
    if unknown:
        raise UsageError(f"{path}: unknown table [{unknown[0]}] (settings go under [run])")
    return path, document


def load_config(path: Path | None) -> dict[str, Any]:
    """The ``[run]`` table of ``path`` (default: ``./conformance.toml`` when it exists)."""
    found = read_config(path)
    if found is None:
        return {}
    path, document = found
    table = document.get("run", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [run] must be a table")
    return {"path": path, **table}


def run_options(command_line: dict[str, Any], config: dict[str, Any]) -> RunOptions:
    """Options from the file's ``[run]``, its per-API sections, and the command line over both."""
    where = str(config.get("path", "conformance.toml"))
    settings: dict[str, Any] = {}
    per_api: dict[str, dict[str, Any]] = {}
    for key, value in config.items():
        if key == "path":
            continue
        if key in APIS:
            if not isinstance(value, dict):
                raise UsageError(f"{where}: [run.{key}] must be a table")
            section = dict(convert(name, item, f"{where} [run.{key}]") for name, item in value.items())
            misplaced = sorted(set(section) - set(PER_API_SETTINGS))
            if misplaced:
                raise UsageError(f"{where} [run.{key}]: {misplaced[0]} applies to the whole run, not one API")
            per_api[key] = {name: item for name, item in section.items() if name not in command_line}
        elif isinstance(value, dict):
            raise UsageError(f"{where}: [run.{key}]: unknown API; choose from: {', '.join(APIS)}")
        else:
            name, converted = convert(key, value, f"{where} [run]")
            settings[name] = converted
    return RunOptions(**{**settings, **command_line, "per_api": per_api})
