"""``conformance report`` and ``compare``: what a run wrote, rendered again, merged or compared."""

from __future__ import annotations

import argparse

from conformance.errors import UsageError


def report_command(args: argparse.Namespace) -> int:
    from conformance.bounds import printable
    from conformance.cli.thresholds import load_thresholds
    from conformance.results.publish import merge_reports, rerender_report

    thresholds = load_thresholds(args.config)
    if len(args.results) == 1:
        path = rerender_report(args.results[0], args.out, args.limits, args.baseline, thresholds)
        print(f"report written to {printable(str(path))}")
        return 0
    if args.out is None:
        raise UsageError("merging several results files needs --out DIR for the merged report")
    from conformance.cli.console import print_comparison, print_summary
    from conformance.cli.step_summary import append_step_summary

    document, since = merge_reports(args.results, args.out, args.limits, args.baseline, thresholds)
    print_summary(document, str(args.out))
    if since is not None:
        print_comparison(since)
    append_step_summary(document, str(args.out), since=since)
    return int(document["exit_code"])  # the merged verdict, as run and replay exit by theirs


def compare_command(args: argparse.Namespace) -> int:
    from conformance.bounds import strict_json
    from conformance.cli.console import print_comparison
    from conformance.cli.thresholds import load_thresholds
    from conformance.findings import FailPolicy
    from conformance.results.compare import compare
    from conformance.results.publish import load_results

    policy = FailPolicy.parse(args.fail_on) if args.fail_on else None
    thresholds = load_thresholds(args.config)
    comparison = compare(
        load_results(args.old, args.limits), load_results(args.new, args.limits), thresholds, policy
    )
    if args.json:
        print(strict_json(comparison.to_dict(), indent=2))
    else:
        print_comparison(comparison)
    return comparison.exit_code
