"""Keeping credentials out of everything the suite writes or prints."""

from __future__ import annotations

import re
from collections.abc import Iterable

PLACEHOLDER = "[REDACTED]"

#: Header names whose values are credentials, lower-case.
SECRET_HEADERS = frozenset({"authorization", "x-api-key", "cookie", "set-cookie", "proxy-authorization"})
#: Query parameters and JSON keys whose values are credentials, lower-case.
SECRET_KEYS = frozenset(
    {
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "secret",
        "api_key",
        "apikey",
        "vai_token",
        "password",
    }
)
_QUERY_SECRET = re.compile(r"(?i)([?&](?:" + "|".join(sorted(SECRET_KEYS)) + r")=)[^&#\s'\"]*")
_HEADER_SECRET = re.compile(r"(?i)((?:" + "|".join(sorted(SECRET_HEADERS)) + r")\s*:\s*)[^'\"\r\n]*")


class Redactor:
    """Replaces known secret values, and values in credential-shaped places, by a placeholder."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, PLACEHOLDER)
        value = _QUERY_SECRET.sub(rf"\g<1>{PLACEHOLDER}", value)
        return _HEADER_SECRET.sub(rf"\g<1>{PLACEHOLDER}", value)
