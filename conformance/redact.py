"""Keeping credentials out of everything the suite writes or prints."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlencode, urlsplit

from conformance.bounds import loads_json, printable
from conformance.vendors.registry import APIS, credential_names

if TYPE_CHECKING:
    from conformance.findings import Deviation

PLACEHOLDER = "[REDACTED]"

#: Header names whose values are credentials in any API, lower-case; vendors declare theirs.
GENERIC_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
#: Query parameters and JSON keys whose values are credentials in any API (OAuth's among them).
GENERIC_KEYS = frozenset(
    {"token", "access_token", "refresh_token", "client_secret", "secret", "api_key", "apikey", "password"}
)
_SECRET_NAME_PART = re.compile(r"(?i)auth|token|key|secret|passw|session|cookie|signature")


@dataclass(frozen=True)
class SecretNames:
    """Where credentials sit: these header names, and these query parameters and JSON members."""

    headers: frozenset[str]
    keys: frozenset[str]

    @cached_property
    def in_query(self) -> re.Pattern[str]:
        return re.compile(r"(?i)([?&](?:" + "|".join(map(re.escape, sorted(self.keys))) + r")=)[^&#\s'\"]*")

    @cached_property
    def in_header_line(self) -> re.Pattern[str]:
        # not a path that ends in a header's name (``/oauth/token: connection refused``): the cause stays
        names = "|".join(map(re.escape, sorted(self.headers)))
        return re.compile(r"(?i)(?<![\w/.])((?:" + names + r")\s*:\s*)[^'\"\r\n]*")


@cache
def secret_names() -> SecretNames:
    """The generic names and every registered vendor's declared ones."""
    vendors = credential_names()
    return SecretNames(GENERIC_HEADERS | vendors, GENERIC_KEYS | vendors)


def is_secret_header(name: str) -> bool:
    """Whether a header is credential-shaped: a known credential header, or a name that says so
    (``X-Tenant-Token``, ``X-Api-Key``); its value is then redacted wherever it could show."""
    return name.lower() in secret_names().headers or bool(_SECRET_NAME_PART.search(name))


#: Where an OpenAPI document holds samples (whose credential-named values are its sample secrets).
_SAMPLE_KEYS = frozenset({"example", "examples", "default", "x-examples"})

#: The userinfo of any URL (``scheme://user:password@``, or scheme-relative ``//user:password@``):
#: a credential wherever it shows.
_URL_USERINFO = re.compile(r"(?i)((?:\b[a-z][a-z0-9+.-]*:)?(?://|\\/\\/))[^/?#@\s'\"<>\\]+@")


def written_forms(secret: str) -> set[str]:
    """``secret`` as every output may spell it: raw, JSON- and Python-escaped (a CR/LF in it
    becomes ``\\r\\n``, a ``/`` may be ``\\/``), percent-encoded, control characters escaped,
    HTML-escaped, shell-quoted. The hex of a percent or ``\\u`` escape matches in either case
    (``Redactor`` reads them so), as RFC 3986 and JSON allow either."""
    json_form = json.dumps(secret)[1:-1]
    forms = {
        secret,
        json_form,
        json_form.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        secret.encode("unicode_escape").decode("ascii"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        printable(secret),
        printable(secret, lines=True),
        html.escape(secret),
        shlex.quote(secret).strip("'"),
    }
    return {form for form in forms if form}


def basic_form(user: str, password: str) -> str:
    """The ``Authorization: Basic`` credential a client derives from a URL's ``user:password``."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def declared_secrets() -> list[str]:
    """The values of every credential variable a registered vendor declares (its token or key,
    its OAuth client secret) that is set: secrets whichever command runs, a replay's too."""
    names = [api.credential_env for api in APIS.values()]
    names += [api.oauth.client_secret_env for api in APIS.values() if api.oauth is not None]
    return [value for name in names if (value := os.environ.get(name))]


#: A percent escape (``%2F``) or a JSON ``\\u`` escape in a form: matched in either hex case.
_HEX_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}")


def _any_case(form: str) -> str:
    """``form`` as a pattern whose hex escapes match in upper or lower case."""
    out, last = [], 0
    for escape in _HEX_ESCAPE.finditer(form):
        out += [re.escape(form[last : escape.start()]), f"(?i:{re.escape(escape.group())})"]
        last = escape.end()
    return "".join([*out, re.escape(form[last:])])


def url_secrets(url: str | None) -> tuple[list[str], set[str]]:
    """What a base URL carries that is secret: the values of its userinfo and of its query (and
    the query's parameter names, which are then credential-shaped everywhere)."""
    if not url:
        return [], set()
    try:
        parts = urlsplit(url)
        user, password = parts.username, parts.password
    except ValueError:
        return [], set()
    values = [form for value in (user, password) if value for form in (value, unquote(value))]
    if user or password:  # what a client sends for them: Authorization: Basic base64(user:password)
        given, decoded = (user or "", password or ""), (unquote(user or ""), unquote(password or ""))
        values += [basic_form(*given), basic_form(*decoded)]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return values + [value for _, value in pairs if value], {name.lower() for name, _ in pairs if name}


class Redactor:
    """Replaces known secret values, and values in credential-shaped places, by a placeholder.

    The one rule: each secret given, added or declared (``declared_secrets``) is replaced in
    every form an output may spell it (``written_forms``), in values and member names alike, and
    the userinfo of any URL is replaced whole. ``names`` are parameter and member names that are
    credential-shaped for this run only (the query parameters of its base URL).
    """

    def __init__(self, secrets: Iterable[str | None] = (), names: Iterable[str] = ()) -> None:
        self._forms: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        for secret in [*secrets, *declared_secrets()]:
            self.add(secret)
        self.names = frozenset(name.lower() for name in names)
        extra = sorted(self.names - secret_names().keys)
        self._extra_query = (
            re.compile(r"(?i)([?&](?:" + "|".join(map(re.escape, extra)) + r")=)[^&#\s'\"]*")
            if extra
            else None
        )

    @classmethod
    def for_target(cls, secrets: Iterable[str | None], base_url: str | None) -> Redactor:
        """A redactor for a run or recording against ``base_url``: its userinfo and query too."""
        values, names = url_secrets(base_url)
        return cls([*secrets, *values], names)

    def is_secret_key(self, key: str) -> bool:
        return key.lower() in secret_names().keys or key.lower() in self.names

    def add(self, secret: str | None) -> None:
        """Redact ``secret`` too from now on, in every written form (an access token issued in
        the middle of a run: one with a ``'`` or a CR/LF shows escaped)."""
        if not secret or len(secret) < 4 or secret in self._forms:
            return
        self._forms |= {form for form in written_forms(secret) if len(form) >= 4}
        self._pattern = None

    def _secrets(self) -> re.Pattern[str] | None:
        """Every form of every secret as one pattern, longest first (a secret that contains
        another is replaced whole)."""
        if self._pattern is None and self._forms:
            forms = sorted(self._forms, key=len, reverse=True)
            self._pattern = re.compile("|".join(_any_case(form) for form in forms))
        return self._pattern

    def learn(self, document: Any, *, sample: bool = False) -> None:
        """Redact from now on every value the examples of ``document`` hold under a credential
        name, wherever it shows: a documented token request's ``client_secret`` also ends its
        sample client id. Only samples count: a spec's own words under such a name (an ``x-list``
        paging ``token: continuation_token``) are not secrets."""
        if isinstance(document, dict):
            for key, value in document.items():
                if sample and isinstance(key, str) and key.lower() in secret_names().keys:
                    if isinstance(value, str):
                        self.add(value)
                else:
                    self.learn(value, sample=sample or key in _SAMPLE_KEYS)
        elif isinstance(document, list):
            for item in document:
                self.learn(item, sample=sample)

    def text(self, value: str) -> str:
        secrets = self._secrets()
        if secrets is not None:
            value = secrets.sub(PLACEHOLDER, value)
        names = secret_names()
        value = _URL_USERINFO.sub(rf"\g<1>{PLACEHOLDER}@", value)
        value = names.in_query.sub(rf"\g<1>{PLACEHOLDER}", value)
        if self._extra_query is not None:
            value = self._extra_query.sub(rf"\g<1>{PLACEHOLDER}", value)
        return names.in_header_line.sub(rf"\g<1>{PLACEHOLDER}", value)

    def header(self, name: str, value: str) -> str:
        """A header value as it may be written: credential headers lose their value entirely."""
        return PLACEHOLDER if is_secret_header(name) else self.text(value)

    def deviation(self, deviation: Deviation) -> Deviation:
        """A deviation whose values and message can be written: a server that echoes the
        credential in a body field must not put it into a report."""
        return replace(
            deviation,
            expected=self.json(deviation.expected),
            observed=self.json(deviation.observed),
            message=self.text(deviation.message),
        )

    def json(self, value: Any) -> Any:
        """A decoded JSON document with every credential-named member replaced, at any depth."""
        if isinstance(value, dict):  # a member named by a secret loses its name too
            return {
                self.text(key) if isinstance(key, str) else key: PLACEHOLDER
                if isinstance(key, str) and self.is_secret_key(key) and value[key] is not None
                else self.json(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self.json(item) for item in value]
        return self.text(value) if isinstance(value, str) else value

    def body(self, body: bytes | str | None) -> bytes | str | None:
        """A request or response body: JSON and form bodies by member name, any text by value.

        Bytes that are not UTF-8 text (images, gzip) are returned unchanged: a credential
        cannot be found in them without decoding, and the recorder decodes gzip first.
        """
        if body is None or body in (b"", ""):
            return body
        if isinstance(body, bytes):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return body
            return self._body_text(text).encode("utf-8")
        return self._body_text(body)

    def _body_text(self, text: str) -> str:
        try:
            document = loads_json(text)
        except ValueError:
            return self._form_or_text(text)
        redacted = self.json(document)
        # Re-serialise only when a member changed, so that the recorded bytes stay the server's.
        return self.text(text) if redacted == document else json.dumps(redacted)

    def _form_or_text(self, text: str) -> str:
        if "=" in text and not any(c in text for c in " \n{<"):
            pairs = parse_qsl(text, keep_blank_values=True)
            if pairs:
                return urlencode(
                    [
                        (self.text(k), PLACEHOLDER if self.is_secret_key(k) else self.text(v))
                        for k, v in pairs
                    ],
                    safe="[]",
                )
        return self.text(text)
