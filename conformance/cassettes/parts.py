"""The cores' share of a replay: work shared out among forked worker processes, this one taking
the first share. The replay hands over runs of small files, each judged whole by one worker, or a
large file's parts of ``PART_ENTRIES`` interactions.

A file of more than ``PART_ENTRIES`` interactions is cut into parts wherever it is judged, each
part judged into sessions of its own and added up in order, as consecutive files are: results.json
does not depend on how many cores judged it (a session's memory of the strings a run sent spans a
part, as it spans a file). Forked, so that the workers inherit the loaded specs, the compiled
validators and a large file's text: nothing large is pickled on the way in, only each file's or
part's tally (findings, counts, profile) on the way back. Where fork is not how the platform starts
processes (macOS, Windows), or one core is all the process may use, everything is judged here.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

Item = TypeVar("Item")
Result = TypeVar("Result")

#: Entries of a part: a file of more is judged in parts. Large enough that a part's tally (tens of
#: kilobytes) is cheap beside judging it (a quarter to half a second), small enough to share out evenly.
PART_ENTRIES = 2_500
#: A file of at most this many bytes (about a thousand interactions) is judged whole by one worker,
#: beside other such files; a larger one is read here and its parts shared out.
SMALL_FILE_BYTES = 1 << 20


def cores() -> int:
    """The cores this process may run on (a container's or ``taskset``'s limit included)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def workers_for(parts: int) -> int:
    """How many processes judge ``parts`` parts: one per core, on Linux."""
    return max(1, min(cores(), parts)) if sys.platform == "linux" else 1


def cut(items: list[Item], size: int | None = None) -> list[tuple[int, list[Item]]]:
    """``items`` in runs of ``size`` (``PART_ENTRIES``; the last may be shorter), each with its first
    position."""
    size = size or PART_ENTRIES
    return [(start, items[start : start + size]) for start in range(0, len(items), size)]


def shares(items: list[Item], workers: int) -> list[list[Item]]:
    """``items`` in ``workers`` contiguous shares whose lengths differ by one at most."""
    bounds = [len(items) * worker // workers for worker in range(workers + 1)]
    return [items[start:stop] for start, stop in itertools.pairwise(bounds)]


class WorkerFailed(RuntimeError):
    """A child died or raised before handing back its part: a bug, reported as one."""


def forked_map(work: Callable[[Item], Result], items: list[Item]) -> list[Result]:
    """``work`` of each item, in order: the items shared out among ``workers_for`` processes, the
    first share judged in this one, each other in a forked child."""
    first, *rest = shares(items, workers_for(len(items)))
    if not rest:  # one core, one item or no fork: no process is started (nor multiprocessing imported)
        return [work(item) for item in first]
    import multiprocessing

    context = multiprocessing.get_context("fork")
    sys.stdout.flush()  # a child must not write out what this process had not yet written
    sys.stderr.flush()
    children: list[tuple[Any, Connection]] = []
    try:
        for share in rest:
            receiver, sender = context.Pipe(duplex=False)
            child = context.Process(target=_child, args=(work, share, sender), daemon=True)
            child.start()
            sender.close()
            children.append((child, receiver))
        results = [work(item) for item in first]
        for child, receiver in children:
            try:
                outcome, value = receiver.recv()
            except EOFError:
                raise WorkerFailed(f"a replay worker ended with exit code {child.exitcode}") from None
            if outcome != "done":
                raise WorkerFailed(f"a replay worker failed: {value}")
            results += value
            child.join()
    finally:  # interrupted, or a part failed: no child outlives the replay
        for child, receiver in children:
            receiver.close()
            if child.is_alive():
                child.kill()
            child.join()
    return results


def _child(work: Callable[[Item], Result], share: list[Item], sender: Connection) -> None:
    try:
        sender.send(("done", [work(item) for item in share]))
    except BaseException as exc:  # handed to the parent, which reports it
        sender.send(("failed", f"{type(exc).__name__}: {exc}"))
    finally:
        sender.close()
