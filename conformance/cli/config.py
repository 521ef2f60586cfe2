"""``conformance.toml``: the settings of ``run``, ``record`` and ``replay``, so a nightly job is one
short line.

```toml
[run]                      # every API
fail-on = "breaking"
rate-limit = 5             # requests per second per API
header = ["X-Tenant: acme"]

[run.robocorp]             # one API: its server, its tenant's ids, anything per-API above
base-url = "https://cloud.robocorp.com/api/v1"

[run.robocorp.parameters]  # every path or query parameter of these names (--parameter)
workspace_id = "2d3a7d3e-..."

[replay]
fail-on = "any"
```

Keys are the options of ``engine.settings`` (the long options without their dashes). ``record``
and ``replay`` also read the settings they share with ``run`` from ``[run]`` (``record`` from
``[run.<api>]`` too: the same server and tenant), then their own table; the command line wins
over the file, ``[run.<api>]`` over ``[run]``. Credentials never live here.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from conformance.bounds import read_text
from conformance.engine.settings import RECORD, REPLAY, RUN, Setting, by_name
from conformance.errors import UsageError
from conformance.vendors.registry import APIS

CONFIG_FILE = Path("conformance.toml")
#: ``conformance.toml`` is read up to this size (a page of settings; the README's bounds say so).
MAX_CONFIG_BYTES = 1024 * 1024
#: Parameters, the one setting that is a table (its values are merged by name).
PARAMETERS = "parameters"
#: The thresholds of a change between two nights (``cli.thresholds``), for ``compare`` and ``report``.
PROFILE = "profile"


def command_line(command: str, args: argparse.Namespace) -> dict[str, Any]:
    """The options given on the command line (the parser read them as the file's are), by field."""
    return {s.field: getattr(args, s.field) for s in by_name(command).values() if hasattr(args, s.field)}


def load_config(path: Path | None) -> dict[str, Any]:
    """The tables of ``path`` (default: ``./conformance.toml`` when it exists), ``{}`` without one."""
    if path is None:
        if not CONFIG_FILE.is_file():
            return {}
        path = CONFIG_FILE
    text = read_text(path, UsageError, missing="no such config file", limit=MAX_CONFIG_BYTES)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid TOML: nested too deep") from None
    unknown = sorted(set(document) - {RUN, RECORD, REPLAY, PROFILE})
    if unknown:
        tables = "[run], [record], [replay] or [profile]"
        raise UsageError(f"{path}: unknown table [{unknown[0]}] (settings go under {tables})")
    for name, table in document.items():
        if not isinstance(table, dict):
            raise UsageError(f"{path}: [{name}] must be a table")
    return {"path": path, **document}


def _read(table: dict[str, Any], where: str, own: str, takes: dict[str, Setting]) -> dict[str, Any]:
    """A table's settings by field: those of its command ``own`` that the reading command
    ``takes`` (another command's are left to it); anything else is a one-line error."""
    known = {setting.key: setting for setting in by_name(own).values() if setting.in_file}
    taken = {setting.key for setting in takes.values()}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise UsageError(f"{where}: unknown setting {key!r}")
        if key in taken:
            values[known[key].field] = known[key].read(value, where)
    return values


def _tables(document: dict[str, Any], name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A command's table without its per-API sections, and those sections by API."""
    where = f"{document.get('path', CONFIG_FILE)} [{name}]"
    table, sections = {}, {}
    for key, value in document.get(name, {}).items():
        if isinstance(value, dict) and key != PARAMETERS:
            if name != RUN or key not in APIS:
                raise UsageError(f"{where}: [{name}.{key}]: unknown API; choose from: {', '.join(APIS)}")
            sections[key] = value
        else:
            table[key] = value
    return table, sections


def settings(
    command: str, given: dict[str, Any], document: dict[str, Any], api: str | None = None
) -> dict[str, Any]:
    """``record``'s or ``replay``'s settings by field: what they share with ``run`` from ``[run]``
    (and ``[run.<api>]`` for a recording), then their own table, then the command line."""
    path = document.get("path", CONFIG_FILE)
    takes = {name: s for name, s in by_name(command).items() if s.in_file}
    shared = {name: s for name, s in takes.items() if RUN in s.commands}
    run, sections = _tables(document, RUN)
    found = _read(run, f"{path} [run]", RUN, shared)
    if api is not None and api in sections:
        found |= _per_api(sections[api], f"{path} [run.{api}]", shared)
    own, _ = _tables(document, command)
    return _merge(_merge(found, _read(own, f"{path} [{command}]", command, takes)), given)


def _per_api(section: dict[str, Any], where: str, takes: dict[str, Setting]) -> dict[str, Any]:
    values = _read(section, where, RUN, takes)
    misplaced = [key for key, s in by_name(RUN).items() if s.field in values and not s.per_api]
    if misplaced:
        raise UsageError(f"{where}: {misplaced[0]} applies to the whole run, not one API")
    return values


def _merge(under: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` wins, but parameters are merged by name."""
    merged = {**under, **over}
    if PARAMETERS in under and PARAMETERS in over:
        merged[PARAMETERS] = {**under[PARAMETERS], **over[PARAMETERS]}
    return merged


def run_settings(given: dict[str, Any], document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``run``'s settings by field (``[run]``, then the command line), and its ``[run.<api>]``
    sections by API, each without what the command line set (but its parameters under the
    command line's: the command line wins by name)."""
    path = document.get("path", CONFIG_FILE)
    takes = {name: s for name, s in by_name(RUN).items() if s.in_file}
    table, sections = _tables(document, RUN)
    per_api = {}
    for api, section in sections.items():
        values = _per_api(section, f"{path} [run.{api}]", takes)
        if PARAMETERS in values and PARAMETERS in given:
            values[PARAMETERS] = {**values[PARAMETERS], **given[PARAMETERS]}
        per_api[api] = {k: v for k, v in values.items() if k not in given or k == PARAMETERS}
    return _merge(_read(table, f"{path} [run]", RUN, takes), given), per_api
