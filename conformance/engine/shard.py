"""``conformance run --shard I/N``: the operations of the selected APIs split across N jobs, so a
slow vendor is spread over a CI matrix and ``conformance report`` merges the shards back.

The split is the same on every machine and in every Python process (a SHA-256 of the ids, never
``hash()``, which is salted per process). The operations a run's lifecycle drives (start, poll,
cancel, ...) stay together in one shard, so the lifecycle is still checked; the other operations
are dealt one by one, so the shards of an API differ by at most one unit of work.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from conformance.errors import UsageError


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True)
class Shard:
    """The ``index``-th (from 1) of ``count`` shares of every selected API's operations."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N`` with 1 <= I <= N; anything else is a one-line error."""
        index, slash, count = str(text).strip().partition("/")
        if not (slash and index.isdigit() and count.isdigit()):
            raise UsageError(f"--shard takes I/N (e.g. 1/4), not {text!r}")
        shard = cls(int(index), int(count))
        if not 1 <= shard.index <= shard.count <= 1000:
            raise UsageError(f"--shard {text}: I must be from 1 to N, and N at most 1000")
        return shard

    def share(self, api: str, operations: Iterable[str], together: Iterable[str] = ()) -> list[str]:
        """The operations of ``api`` this shard checks, in the order given. ``together`` (the
        lifecycle's operations) is one unit; units are ordered by a stable hash of their ids and
        dealt in turn from a shard that depends on the API, so small APIs do not all start at 1."""
        operations = list(operations)
        grouped = [op for op in operations if op in set(together)]
        units = [[op] for op in operations if op not in grouped] + ([grouped] if grouped else [])
        units.sort(key=lambda unit: stable_hash(f"{api}/{unit[0]}"))
        first = stable_hash(api) % self.count
        mine = {
            op
            for position, unit in enumerate(units)
            if (first + position) % self.count == self.index - 1
            for op in unit
        }
        return [op for op in operations if op in mine]
