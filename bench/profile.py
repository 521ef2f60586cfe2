"""What the behaviour profile (issue 27) costs, and whether clean nights stay quiet.

- Cost of a night: ``conformance run`` of the four faithful mocks in process (the Python API's
  ``run``; the mocks are processes of their own), its budget (``--run-examples``) set for about
  10,000 judged responses. The figure is the CPU time spent inside ``Profile.observe`` and
  ``Profile.frozen`` (each call on its thread's clock) as a share of the rest of the run; a run's
  CPU time varies by more than that from one run to the next, so the runs with the profile and
  with it a no-op, alternated, are printed beside it for context.
- Cost in the worst case: the same number of responses replayed (``replay`` of the committed mock
  recordings repeated to 10,000 interactions, every body distinct, results.json written), where
  judging is all there is and the profile's share is largest; medians over the repeats.
  The size is results.json's bytes with its profiles, and without them (the same document, every
  operation's ``profile`` removed). Times are this process's CPU time (``time.process_time``): on
  a machine shared with other work, wall time varies by tens of percent from one repeat to the next.
- Flapping: ``conformance run`` of the four faithful mocks on ``--nights`` nights with seeds 1..N
  and a small budget, each night compared with the one before: the behaviour changes reported.

    .venv/bin/python bench/profile.py [--responses 10000] [--repeats 5] [--run-examples 230] [--run-repeats 1]
        [--nights 10] [--max-examples 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import load, spread, target
from replay import build_cassette

from conformance.cassettes.replay import replay
from conformance.results.document import results_document, results_text
from conformance.results.profile import Profile

CONFORMANCE = Path(sys.executable).parent / "conformance"


def judged(cassette: Path, profiled: bool) -> tuple[float, str]:
    """CPU seconds to judge ``cassette`` and write its results text, and that text."""
    observe = Profile.observe
    if not profiled:
        Profile.observe = lambda *args, **kwargs: None  # type: ignore[method-assign]
    try:
        started = time.process_time()
        result, _ = replay([cassette])
        text = results_text(results_document(result))
        return time.process_time() - started, text
    finally:
        Profile.observe = observe  # type: ignore[method-assign]


def without_profiles(text: str) -> int:
    document = json.loads(text)
    for api in document["apis"]:
        for operation in api["operations"]:
            operation.pop("profile", None)
    return len(results_text(document).encode())


def cost(responses: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cassette = Path(folder) / "night.yaml"
        build_cassette(cassette, responses, distinct=True)
        judged(cassette, True)  # warm-up: imports, specs, compiled validators
        times: dict[bool, list[float]] = {True: [], False: []}
        text = ""
        for _ in range(repeats):
            for profiled in (False, True):
                seconds, written = judged(cassette, profiled)
                times[profiled].append(seconds)
                text = written if profiled else text
    print(f"{load()}")
    print(f"without the profile: {spread(times[False], 's CPU')}")
    print(f"with the profile:    {spread(times[True], 's CPU')}")
    pairs = [100 * (on / off - 1) for on, off in zip(times[True], times[False], strict=True)]
    added = sorted(pairs)[len(pairs) // 2]
    print(f"time added per repeat: {', '.join(f'{p:+.1f} %' for p in pairs)}")
    size, bare = len(text.encode()), without_profiles(text)
    print(f"results.json: {size:,} bytes with profiles, {bare:,} without: {size - bare:,} bytes added")
    print(f"worst case, replay of {responses:,} responses: {added:+.1f} % (median) added")
    target(
        f"profile of a {responses:,}-response replay: results.json",
        f"{(size - bare) / 1024:.0f} KB",
        "< 1 MB",
        size - bare < 1024 * 1024,
    )


def run_judged(profiled: bool, max_examples: int) -> tuple[float, float, int]:
    """This process's CPU seconds for a run of the four faithful mocks, the CPU seconds spent in
    the profile itself (each observation and the freezing into results.json, timed on its own
    thread's clock), and the answers it profiled."""
    from conformance.engine.options import RunOptions
    from conformance.engine.runner import run

    observe, frozen, spent, answers = Profile.observe, Profile.frozen, [0.0], [0]

    def timed(self: Profile, *args: Any, **kwargs: Any) -> None:
        answers[0] += 1
        if profiled:
            started = time.thread_time()
            observe(self, *args, **kwargs)
            spent[0] += time.thread_time() - started

    def timed_frozen(self: Profile, *args: Any, **kwargs: Any) -> dict[str, dict[str, Any]]:
        started = time.thread_time()
        try:
            return frozen(self, *args, **kwargs) if profiled else {}
        finally:
            spent[0] += time.thread_time() - started

    Profile.observe, Profile.frozen = timed, timed_frozen  # type: ignore[method-assign]
    try:
        started = time.process_time()
        run(RunOptions(max_examples=max_examples, seed=1))
        return time.process_time() - started, spent[0], answers[0]
    finally:
        Profile.observe, Profile.frozen = observe, frozen  # type: ignore[method-assign]


def run_cost(max_examples: int, repeats: int) -> None:
    """The profile's own share of a night's CPU time (the figure: a run's CPU time varies by more
    than the profile costs from one run to the next), and the runs with it and without it beside."""
    run_judged(True, 2)  # warm-up: imports, specs, compiled validators
    times: dict[bool, list[float]] = {True: [], False: []}
    shares, answers = [], 0
    for index in range(repeats):
        for profiled in (False, True) if index % 2 == 0 else (True, False):
            seconds, spent, answers = run_judged(profiled, max_examples)
            times[profiled].append(seconds)
            if profiled:
                shares.append(100 * spent / (seconds - spent))
    print(f"{load()}")
    print(f"conformance run, four faithful mocks, --max-examples {max_examples}: {answers:,} answers judged")
    print(f"without the profile: {spread(times[False], 's CPU')}")
    print(f"with the profile:    {spread(times[True], 's CPU')}")
    print(f"the profile's own CPU time, as a share of the rest of the run: {spread(shares, '%')}")
    share = sorted(shares)[len(shares) // 2]
    target(f"profile of a {answers:,}-response night (conformance run): time", f"+{share:.2f} % (median)",
           "< 5 %", share < 5)  # fmt: skip


def nights(count: int, max_examples: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        changes = []
        for seed in range(1, count + 1):
            directory = Path(folder) / str(seed)
            command = [str(CONFORMANCE), "run", "--seed", str(seed), "--max-examples", str(max_examples)]
            subprocess.run([*command, "--report-dir", str(directory)], capture_output=True, check=False)
            if seed > 1:
                compared = subprocess.run(
                    [str(CONFORMANCE), "compare", str(Path(folder) / str(seed - 1) / "results.json"),
                     str(directory / "results.json"), "--json"],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                found = json.loads(compared.stdout)["changes"]
                changes += found
                print(f"night {seed} against night {seed - 1}: {len(found)} behaviour changes", flush=True)
    for change in changes:
        print(f"  {change['target']} {change['operation']} {change['location']}: {change['message']}")
    target(
        f"{count} clean nights of the faithful mocks, seeds 1..{count} (--max-examples {max_examples})",
        f"{len(changes)} behaviour changes",
        "0",
        not changes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--run-examples", type=int, default=230)
    parser.add_argument("--run-repeats", type=int, default=1)
    parser.add_argument("--nights", type=int, default=10)
    parser.add_argument("--max-examples", type=int, default=3)
    args = parser.parse_args()
    run_cost(args.run_examples, args.run_repeats)
    cost(args.responses, args.repeats)
    nights(args.nights, args.max_examples)


if __name__ == "__main__":
    main()
