"""Detection on the independent servers: four servers written from the vendors' documents alone
(``tests/independent/``: SolveXia on Flask and waitress, Robocorp on aiohttp, Kognitos on Litestar,
Automation Runs on FastAPI), judged by ``conformance run`` with a night's budget.

For each server: ``--seeds`` clean nights, one per seed, all phases and ``--max-examples`` (10,
as ``conformance run`` does by default); a night that does not exit 0 (new breaking drift, or
errors) is a false alarm. Then every planted break of its ``breaks.BREAKS``, one night each with
the same budget (seed 1) and the options ``tests/independent/test_nights.py`` gives that break in
``CAUGHT``. A break is *detected* when its night is red (exit 1 with new breaking drift) and
*located* when a new breaking finding names the operation and location ``CAUGHT`` lists for it
(*as listed* when its kind is the listed one too). The breaks listed in ``NOT_RED`` (promises no
document makes, or only a longer night sees) are reported apart, by name, with what their night
yielded beyond the clean nights' findings: assumption, convention, additive drift, or nothing.

Each night runs in a forked child process and is stopped after ``--night-timeout`` (300 s): a
night that never ends is reported as ``HUNG`` (a false alarm when clean, not red when a break's),
not waited on. The lifecycle's pace is ``tests/independent/judging.QUICK``'s (polls from 0.05 s,
a run given up after 20 s): the servers are on loopback.

    .venv/bin/python bench/detection_independent.py [--apis kognitos ...] [--seeds 5]
        [--max-examples 10] [--phases examples,coverage,fuzzing,stateful] [--breaks NAME ...]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.independent, as the bench runs from the repository root

from common import load, target  # noqa: E402

from conformance.engine.options import PHASES  # noqa: E402
from conformance.results.model import RunResult  # noqa: E402
from tests.independent.judging import QUICK, night  # noqa: E402
from tests.independent.test_nights import APIS, CAUGHT, NOT_RED  # noqa: E402

FRAMEWORK = {
    "solvexia": "Flask + waitress",
    "robocorp": "aiohttp",
    "kognitos": "Litestar",
    "automation_runs": "FastAPI",
}
#: ``(operation, location, kind, grade)``: grade is ``breaking`` or ``additive`` (new drift),
#: ``assumption`` or ``convention``.
Reported = tuple[str, str, str, str]


def reported(result: RunResult) -> set[Reported]:
    """Every finding beside the known quirks, graded as the night grades it."""
    return {
        (
            f.operation,
            f.location,
            f.kind,
            str(f.severity) if str(f.classification) == "new" else str(f.classification),
        )
        for f in result.findings
        if str(f.classification) != "known"
    }


def grades(findings: set[Reported]) -> str:
    counted = Counter(grade for *_, grade in findings)
    return ", ".join(f"{grade} {count}" for grade, count in sorted(counted.items())) or "nothing"


def listed(findings: set[Reported], most: int = 3) -> str:
    """``grade: op location kind, ...`` by grade, breaking first, a few of each."""
    by_grade: dict[str, list[str]] = defaultdict(list)
    for operation, location, kind, grade in sorted(findings):
        by_grade[grade].append(f"{operation} {location} {kind}")
    order = sorted(by_grade, key=lambda g: (g != "breaking", g))
    return (
        "; ".join(
            f"{grade}: {', '.join(by_grade[grade][:most])}"
            + (f" (+{len(by_grade[grade]) - most} more)" if len(by_grade[grade]) > most else "")
            for grade in order
        )
        or "nothing"
    )


@dataclass
class Night:
    exit_code: int
    errors: list[str]
    findings: set[Reported]
    seconds: float

    @property
    def red(self) -> bool:
        return self.exit_code == 1 and any(grade == "breaking" for *_, grade in self.findings)


@dataclass
class Outcome:
    api: str
    clean: dict[int, Night] = field(default_factory=dict)
    #: break name -> its night (``CAUGHT`` and ``NOT_RED`` alike)
    breaks: dict[str, Night] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def baseline(self) -> set[Reported]:
        """What the clean nights reported, whatever the seed: not the break's doing."""
        return set().union(*(n.findings for n in self.clean.values()))


#: A night that has not ended after this long is stopped and reported as hung (``--night-timeout``).
NIGHT_TIMEOUT = 300.0
HUNG = -1


def judge(api: str, planted: tuple[str, ...], **options: Any) -> Night:
    """One night in a child process (forked: the suite already imported), stopped after
    ``NIGHT_TIMEOUT``: a night that never ends is a finding of the bench, not a bench that hangs."""
    started = time.perf_counter()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=judge_here, args=(send, api, planted, options), daemon=True)
    child.start()
    send.close()
    if receive.poll(NIGHT_TIMEOUT):
        try:
            found: Night = receive.recv()
        except EOFError:
            found = Night(2, [f"the night's process died (exit {child.exitcode})"], set(), 0.0)
    else:
        child.kill()
        found = Night(HUNG, [f"hung: no end after {NIGHT_TIMEOUT:.0f} s, stopped"], set(), 0.0)
    child.join(10)
    found.seconds = time.perf_counter() - started
    return found


def judge_here(send: Any, api: str, planted: tuple[str, ...], options: dict[str, Any]) -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        result = night(api, planted, **options)
        send.send(Night(result.exit_code, result.errors, reported(result), 0.0))
    except Exception as error:  # the night's own failure, reported as an errored night
        send.send(Night(2, [f"{type(error).__name__}: {error}"], set(), 0.0))
    finally:
        send.close()


def break_options(name: tuple[str, str], budget: dict[str, Any]) -> dict[str, Any]:
    """The night's budget and what ``CAUGHT`` adds for the break (phases it names are in the budget)."""
    extra = dict(CAUGHT[name].options) if name in CAUGHT else {}
    needed = extra.pop("phases", ())
    phases = (*budget["phases"], *(p for p in needed if p not in budget["phases"]))
    return {**budget, **extra, "phases": phases, "seed": 1}


def exit_of(found: Night) -> str:
    return "HUNG" if found.exit_code == HUNG else f"exit {found.exit_code}"


def judge_api(api: str, seeds: int, budget: dict[str, Any], only: list[str]) -> Outcome:
    outcome, started = Outcome(api), time.perf_counter()
    for seed in range(1, seeds + 1):
        outcome.clean[seed] = judge(api, (), **{**budget, "seed": seed})
        clean = outcome.clean[seed]
        print(
            f"  {api} clean night, seed {seed}: {exit_of(clean)}"
            f"{' FALSE ALARM' if clean.exit_code else ''}, {grades(clean.findings)}"
            f"{', errors: ' + '; '.join(clean.errors) if clean.errors else ''} ({clean.seconds:.0f} s)",
            flush=True,
        )
    planted = import_module(f"tests.independent.{api}.breaks").BREAKS
    for name in planted:
        if only and name not in only:
            continue
        outcome.breaks[name] = judge(api, (name,), **break_options((api, name), budget))
    outcome.seconds = time.perf_counter() - started
    return outcome


def located(api: str, name: str, found: Night) -> tuple[bool, bool]:
    """Whether a new breaking finding names the listed operation and location; and its kind too."""
    caught = CAUGHT[(api, name)]
    hits = {(o, loc, k) for o, loc, k, grade in found.findings if grade == "breaking"}
    at = {k for o, loc, k in hits if (o, loc) == (caught.operation, caught.location)}
    return found.red and bool(at), found.red and caught.kind in at


def report_api(outcome: Outcome) -> Counter[str]:
    api, tally = outcome.api, Counter[str]()
    alarms = [seed for seed, n in outcome.clean.items() if n.exit_code != 0]
    tally.update(nights=len(outcome.clean), alarms=len(alarms))
    print(f"\n{api} ({FRAMEWORK[api]}), {outcome.seconds:.0f} s")
    print(
        f"  clean nights: {len(outcome.clean)}, false alarms {len(alarms)}"
        + (f" (seeds {', '.join(map(str, alarms))})" if alarms else "")
        + f"; reported beside the known quirks, all seeds: {grades(outcome.baseline)}"
    )
    header = f"{'planted break (CAUGHT)':42} {'exit':>4}  {'red':>4}  {'located':>7}  {'as listed':>9}"
    print(f"  {header}  {'seconds':>7}")
    for name, found in outcome.breaks.items():
        if (api, name) not in CAUGHT:
            continue
        at, kind = located(api, name, found)
        tally.update(caught=1, red=found.red, located=at, kind=kind, errored=found.exit_code in (2, HUNG))
        red = (
            "yes"
            if found.red
            else "ERR"
            if found.exit_code == 2
            else "HUNG"
            if found.exit_code == HUNG
            else "NO"
        )
        print(
            f"  {name:42} {found.exit_code:>4}  {red:>4}  {'yes' if at else 'NO':>7}"
            f"  {'yes' if kind else 'no':>9}  {found.seconds:>7.0f}"
        )
        if not kind:
            wanted = CAUGHT[(api, name)]
            print(
                f"      listed: {wanted.operation} {wanted.location} {wanted.kind}; "
                f"yielded: {listed(found.findings - outcome.baseline)}"
                + (f"; errors: {'; '.join(found.errors)}" if found.errors else "")
            )
    not_red = [(name, found) for name, found in outcome.breaks.items() if (api, name) in NOT_RED]
    if not_red:
        print("  planted breaks that leave a night green (NOT_RED); yielded beyond the clean nights:")
    for name, found in not_red:
        tally.update(not_red=1, not_red_but_red=found.red)
        print(
            f"    {name}: {exit_of(found)}{' (RED, though listed in NOT_RED)' if found.red else ''}; "
            f"{listed(found.findings - outcome.baseline)}"
        )
    return tally


def main() -> None:
    global NIGHT_TIMEOUT
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--apis", nargs="*", default=list(APIS), choices=APIS)
    parser.add_argument("--seeds", type=int, default=5, help="clean nights per server, seeds 1 to N")
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--breaks", nargs="*", default=[], help="only these planted breaks")
    parser.add_argument(
        "--night-timeout", type=float, default=NIGHT_TIMEOUT, help="seconds before a night is hung"
    )
    args = parser.parse_args()
    NIGHT_TIMEOUT = args.night_timeout
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a server's logging set-up turns it on
    budget = {**QUICK, "phases": tuple(args.phases.split(",")), "max_examples": args.max_examples}
    print(load() + " before")
    print(
        f"phases {','.join(budget['phases'])}, max-examples {budget['max_examples']}, "
        f"clean nights seeds 1 to {args.seeds}, each break seed 1; "
        f"poll interval {budget['poll_interval']} s, lifecycle timeout {budget['lifecycle_timeout']} s",
        flush=True,
    )
    started = time.perf_counter()
    outcomes = [judge_api(api, args.seeds, budget, args.breaks) for api in args.apis]
    elapsed = time.perf_counter() - started
    totals: Counter[str] = Counter()
    per_api = {outcome.api: report_api(outcome) for outcome in outcomes}
    print(
        "\nred: exit 1 with new breaking drift; located: a new breaking finding at the operation and"
        "\nlocation CAUGHT lists; as listed: with CAUGHT's kind too; false alarm: a clean night not"
        "\nexiting 0; ERR, errored: the break's night ended in errors (exit 2), or HUNG (stopped after"
        f"\n{NIGHT_TIMEOUT:.0f} s), not red whatever it found"
    )
    print(
        f"\n{'api':16} {'clean nights':>12} {'false alarms':>12} {'breaks':>6} {'red':>12} {'located':>12}"
        f" {'as listed':>12} {'errored':>7} {'NOT_RED':>11} {'seconds':>7}"
    )
    for outcome in outcomes:
        tally = per_api[outcome.api]
        totals.update(tally)
        print(row(outcome.api, tally, outcome.seconds))
    print(row("all", totals, elapsed))
    print(load() + " after")
    report_targets(totals, budget)


def rate(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def row(title: str, tally: Counter[str], seconds: float) -> str:
    return (
        f"{title:16} {tally['nights']:>12} {tally['alarms']:>12} {tally['caught']:>6}"
        f" {rate(tally['red'], tally['caught']):>12} {rate(tally['located'], tally['red']):>12}"
        f" {rate(tally['kind'], tally['red']):>12} {tally['errored']:>7}"
        f" {tally['not_red']:>3} ({tally['not_red_but_red']} red)"
        f" {seconds:>7.0f}"
    )


def report_targets(totals: Counter[str], budget: dict[str, Any]) -> None:
    phases = "all phases" if set(budget["phases"]) == set(PHASES) else "phases " + ",".join(budget["phases"])
    target(
        f"false alarms on the independent servers (clean nights, {phases}, "
        f"max-examples {budget['max_examples']})",
        f"{totals['alarms']} of {totals['nights']} nights",
        "0",
        totals["alarms"] == 0,
    )
    target(
        "independent servers' planted breaks (CAUGHT) turning the night red",
        rate(totals["red"], totals["caught"]),
        "100%",
        totals["red"] == totals["caught"],
    )
    target(
        "independent servers' red breaks located (operation and location CAUGHT lists)",
        rate(totals["located"], totals["red"]),
        "100%",
        totals["located"] == totals["red"],
    )


if __name__ == "__main__":
    main()
