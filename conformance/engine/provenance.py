"""What a run was given, as ``results.json`` records it: the seed the engine used and every
option, credentials left out, with the command line that runs it again the same way.

A red night is re-run exactly from its ``results.json``: ``options.rerun`` is that command
(settings from a config file's ``[run.<api>]`` sections are in ``options.per_api``; the
credential is read from the environment as in the night's run).
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import fields
from typing import Any

from conformance.engine.options import RunOptions
from conformance.engine.shard import Shard
from conformance.findings import FailPolicy
from conformance.redact import PLACEHOLDER, Redactor, is_secret_header, url_secrets

#: Options that hold a credential: recorded as given or not, never with their value.
_CREDENTIALS = frozenset({"token", "client_secret"})


def draw_seed() -> int:
    """A seed for a run that was given none, drawn here so that it can be recorded."""
    return secrets.randbits(32)  # exact in any JSON reader (JavaScript too)


def recorded_options(options: RunOptions) -> dict[str, Any]:
    """Every field of ``options`` as JSON, with credentials and secret header values redacted."""
    given_secrets = [options.token, *_secret_values(options.headers)]
    urls = [options.base_url]
    for settings in options.per_api.values():
        given_secrets += _secret_values(settings.get("headers", ()))
        urls.append(settings.get("base_url"))
    redactor = Redactor(given_secrets)
    for url in urls:  # the userinfo and query of a base URL are credentials too
        values, _ = url_secrets(url)
        for value in values:
            redactor.add(value)
    record: dict[str, Any] = {"command": "run"}
    for field in fields(options):
        record[field.name] = _clean(field.name, getattr(options, field.name), redactor)
    record["rerun"] = rerun_command(options, redactor)
    return record


def _secret_values(headers: Any) -> list[str]:
    return [str(value) for name, value in headers if is_secret_header(str(name))]


def _clean(key: str, value: Any, redactor: Redactor) -> Any:
    if key in _CREDENTIALS or "secret" in key:
        return PLACEHOLDER if value else None
    if key == "headers":
        return [[name, PLACEHOLDER if is_secret_header(name) else redactor.text(v)] for name, v in value]
    if isinstance(value, Shard | FailPolicy):
        return str(value)
    if isinstance(value, dict):
        return {key: _clean(key, item, redactor) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean("", item, redactor) for item in value]
    if isinstance(value, str):
        return redactor.text(value)
    return value


#: ``RunOptions`` field -> its ``conformance run`` flag, for the fields that take a value.
_FLAGS = {
    "base_url": "--base-url",
    "max_examples": "--max-examples",
    "seed": "--seed",
    "workers": "--workers",
    "fail_on": "--fail-on",
    "mock_mode": "--mock-mode",
    "request_timeout": "--request-timeout",
    "lifecycle_timeout": "--lifecycle-timeout",
    "poll_interval": "--poll-interval",
    "rate_limit": "--rate-limit",
    "proxy": "--proxy",
    "cacert": "--cacert",
    "shard": "--shard",
}


def rerun_command(options: RunOptions, redactor: Redactor | None = None) -> str:
    """``conformance run ...`` with every option that differs from the defaults (secret header
    values redacted: such a header must be given again)."""
    redactor = redactor or Redactor([options.token])
    defaults = RunOptions()
    args = ["conformance", "run", *options.apis]
    for name, flag in _FLAGS.items():
        value = getattr(options, name)
        if value != getattr(defaults, name) and value is not None:
            args += [flag, redactor.text(str(value))]
    if options.phases != defaults.phases:
        args += ["--phases", ",".join(options.phases)]
    if options.strict:
        args.append("--strict")
    if options.max_body_bytes != defaults.max_body_bytes:
        args += ["--max-body-mb", f"{options.max_body_bytes / (1024 * 1024):g}"]
    if not options.tls_verify:
        args.append("--no-tls-verify")
    for name, value in options.headers:
        args += ["--header", f"{name}: {PLACEHOLDER if is_secret_header(name) else redactor.text(value)}"]
    for operation in options.include_operations:
        args += ["--include-operation", operation]
    for operation in options.exclude_operations:
        args += ["--exclude-operation", operation]
    return shlex.join(args)
