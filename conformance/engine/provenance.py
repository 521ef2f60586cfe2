"""What a run was given, as ``results.json`` records it: the seed the engine used and every
option, credentials left out, with the command line that runs it again the same way.

A red night is re-run exactly from its ``results.json``: ``options.rerun`` is that command, with
a config file's ``[run.<api>]`` sections written out as options (they are also in
``options.per_api``); the credential is read from the environment as in the night's run.
"""

from __future__ import annotations

import secrets
import shlex
from dataclasses import fields
from typing import Any

from conformance.engine.options import RunOptions
from conformance.engine.settings import rerun_words
from conformance.engine.shard import Shard
from conformance.findings import FailPolicy
from conformance.redact import PLACEHOLDER, Redactor, is_secret_header, url_secrets
from conformance.vendors.registry import resolve_apis

#: Options that hold a credential: recorded as given or not, never with their value.
_CREDENTIALS = frozenset({"token", "client_secret"})


def draw_seed() -> int:
    """A seed for a run that was given none, drawn here so that it can be recorded."""
    return secrets.randbits(32)  # exact in any JSON reader (JavaScript too)


def recorded_options(options: RunOptions) -> dict[str, Any]:
    """Every field of ``options`` as JSON, with credentials and secret header values redacted."""
    redactor = _redactor(options)
    record: dict[str, Any] = {"command": "run"}
    for field in fields(options):
        record[field.name] = _clean(field.name, getattr(options, field.name), redactor)
    record["rerun"] = rerun_command(options, redactor)
    return record


def _redactor(options: RunOptions) -> Redactor:
    """What the recorded options must not show: the token, secret header values, and the userinfo
    and query of every base URL and of the proxy."""
    given_secrets = [options.token, *_secret_values(options.headers)]
    urls = [options.base_url, options.proxy]
    for settings in options.per_api.values():
        given_secrets += _secret_values(settings.get("headers", ()))
        urls.append(settings.get("base_url"))
    redactor = Redactor(given_secrets)
    for url in urls:
        for value in url_secrets(url)[0]:
            redactor.add(value)
    return redactor


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


def rerun_command(options: RunOptions, redactor: Redactor | None = None) -> str:
    """``conformance run ...`` with every option that differs from the defaults, the APIs' own
    ``[run.<api>]`` sections written out (so it needs no config file): one line, or one per API
    when several APIs have sections. Secrets show as ``[REDACTED]``, to be given again."""
    redactor = redactor or _redactor(options)
    apis = [api.name for api in resolve_apis(options.apis)]
    if len(apis) == 1:
        groups = [(options.apis, options.for_api(apis[0]))]
    elif any(api in options.per_api for api in apis):
        groups = [([api], options.for_api(api)) for api in apis]
    else:
        groups = [(options.apis, options)]
    defaults = _values(RunOptions())
    return "\n".join(
        shlex.join(["conformance", "run", *names, *rerun_words(_values(chosen), defaults, redactor.text)])
        for names, chosen in groups
    )


def _values(options: RunOptions) -> dict[str, Any]:
    return {field.name: getattr(options, field.name) for field in fields(options)}
