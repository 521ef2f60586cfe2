"""``conformance record``, ``replay`` and ``diff``: cassettes of a real server's traffic."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from conformance.cli import config
from conformance.engine.options import MAX_LIFECYCLE_TIMEOUT, MAX_REQUEST_TIMEOUT
from conformance.errors import UsageError
from conformance.vendors.registry import APIS


def record_command(args: argparse.Namespace) -> int:
    from conformance.bounds import printable
    from conformance.cassettes.record import check_reachable, record
    from conformance.engine.caller import Polling
    from conformance.engine.options import check_base_url, check_credential, split_base_url
    from conformance.engine.runner import resolve_token
    from conformance.http.oauth import resolve_client
    from conformance.http.policy import RequestPolicy

    token = resolve_token(APIS[args.api], args.token)
    check_base_url(args.base_url)
    client = None
    if not token and args.record_mode == "all":
        client = resolve_client(APIS[args.api], args.client_id, args.client_secret)
    if client is None:
        check_credential(token, "--token" if args.token else APIS[args.api].credential_env)
    for name, value, top in (
        ("--poll-interval", args.poll_interval, MAX_REQUEST_TIMEOUT),
        ("--lifecycle-timeout", args.lifecycle_timeout, MAX_LIFECYCLE_TIMEOUT),
    ):
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"{name} must be a positive number of seconds")
        if value > top:
            raise UsageError(f"{name} must be at most {top:g}")
    polling = Polling(first=args.poll_interval, timeout=args.lifecycle_timeout)
    base_url, params = split_base_url(args.base_url)
    policy = RequestPolicy(
        timeout=args.request_timeout, max_body_bytes=config.megabytes(args.max_body_mb), params=params
    )
    if args.record_mode == "all":  # recording an unreachable server: one line, nothing recorded
        check_reachable(args.api, base_url, policy)
    outcome = record(
        args.api,
        args.base_url,
        token,
        args.out or Path("cassettes") / args.api,
        record_mode=args.record_mode,
        polling=polling,
        policy=policy,
        client=client,
    )
    if outcome.failures:
        print(
            f"conformance: error: recording {args.api} failed ({len(outcome.failures)} failed step(s)); "
            f"{printable(str(outcome.cassette))} was left as it was",
            file=sys.stderr,
        )
        return 2
    verb = "recorded" if args.record_mode == "all" else "replayed"
    print(f"{verb} {outcome.interactions} interactions of {args.api} in {printable(str(outcome.cassette))}")
    return 0


def replay_command(args: argparse.Namespace) -> int:
    from conformance.bounds import printable
    from conformance.cassettes.replay import replay
    from conformance.cli.console import print_summary
    from conformance.cli.step_summary import github_outputs
    from conformance.results.files import ensure_report_dir
    from conformance.results.publish import publish_run

    ensure_report_dir(args.report_dir)
    result, unattributed = replay(
        args.paths,
        args.api,
        strict=args.strict,
        max_body_bytes=config.megabytes(args.max_body_mb),
        skip_unknown=args.skip_unknown,
    )
    for error in unattributed:
        print(f"conformance: error: {printable(error)}", file=sys.stderr)
    document = publish_run(result, args.report_dir)
    print_summary(document, str(args.report_dir))
    github_outputs(document, str(args.report_dir))
    if result.skipped:
        print(f"skipped {result.skipped} recorded calls outside the contracts (--skip-unknown)")
    return result.exit_code


def diff_command(args: argparse.Namespace) -> int:
    from conformance.cassettes.diff import diff, write_diff
    from conformance.cli.console import print_diff

    outcome = diff(args.old, args.new, args.api, max_body_bytes=config.megabytes(args.max_body_mb))
    if args.report_dir:  # written before anything is printed: the terminal cannot cost the file
        write_diff(outcome, args.report_dir)
    print_diff(outcome)
    return outcome.exit_code
