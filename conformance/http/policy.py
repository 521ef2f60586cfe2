"""How every request of a run is sent: one ``RequestPolicy``, applied where clients are made.

It carries the bounds (``http.transport``), what travels with each request, and politeness: a
rate limit shared by every thread, and ``Retry-After`` honoured on 429 and 503 (``http.polite``,
where the clients are made).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from conformance.bounds import DEFAULT_LIMITS, ReadLimits

if TYPE_CHECKING:  # a policy is read by replays and reports, which send nothing
    import httpx


class RateLimiter:
    """At most ``per_second`` requests a second, spaced evenly, across every thread that shares it."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = 1.0 / per_second, clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self, sleep: Callable[[float], None]) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            sleep(start - now)


@dataclass(frozen=True)
class RequestPolicy:
    """How every request of a run is sent and read: one object, applied where clients are made.

    Bounds (``timeout``, ``limits``), what travels with each request (``headers``,
    ``params``, ``proxy``, ``verify``), and politeness (``rate_limit`` requests a second, ``Retry-After``
    honoured on 429 and 503 up to ``max_retry_wait`` seconds).
    """

    timeout: float = 10.0
    #: How much of a body is read (``--max-body-mb``): the type the offline readers take too.
    limits: ReadLimits = DEFAULT_LIMITS
    headers: tuple[tuple[str, str], ...] = ()
    #: Query parameters sent with every request (those of a base URL such as ``...?key=...``).
    params: tuple[tuple[str, str], ...] = ()
    proxy: str | None = None
    #: ``False`` skips TLS verification; a string is a CA bundle to verify against.
    verify: bool | str = True
    rate_limit: float | None = None
    max_retry_wait: float = 60.0
    #: Values of named path and query parameters (``--parameter``: a tenant's ids), sent by every
    #: operation that declares one in place of the spec's example.
    parameters: tuple[tuple[str, str], ...] = ()
    retries: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    #: Applied to every request (``oauth.RefreshingToken``: a signed-in run's current token).
    auth: httpx.Auth | None = field(default=None, compare=False, repr=False)

    @cached_property
    def limiter(self) -> RateLimiter | None:
        return RateLimiter(self.rate_limit) if self.rate_limit else None


#: Bounds of a run that sets none: 10 s, 10 MiB, no rate limit.
DEFAULT_POLICY = RequestPolicy()
