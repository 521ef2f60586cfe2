"""``conformance record``, ``replay`` and ``diff``: cassettes of a real server's traffic."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance.cli import config
from conformance.engine.options import RunOptions
from conformance.engine.settings import RECORD, REPLAY, RUN, settings_of
from conformance.errors import UsageError
from conformance.vendors.registry import APIS


def _record_options(args: argparse.Namespace) -> tuple[RunOptions, dict[str, Any]]:
    """A recording's options, as a run of its one API would have them (defaults, ``[run]``,
    ``[run.<api>]``, ``[record]``, the command line), and its own settings (``out``, ``record_mode``)."""
    given = config.command_line(RECORD, args)
    values = config.settings(RECORD, given, config.load_config(given.get("config")), args.api)
    values.pop("config", None)
    own = {s.field: values.pop(s.field, s.default) for s in settings_of(RECORD) if RUN not in s.commands}
    if values.get("base_url") is None:
        raise UsageError(f"record needs --base-url (or base-url in conformance.toml's [run.{args.api}])")
    options = RunOptions(apis=[args.api], **values)
    options.validate()
    return options, own


def record_command(args: argparse.Namespace) -> int:
    from conformance.bounds import printable
    from conformance.cassettes.record import check_reachable, record
    from conformance.engine.caller import Polling
    from conformance.engine.options import check_credential, split_base_url
    from conformance.engine.runner import check_parameters, resolve_token
    from conformance.http.oauth import resolve_client

    options, own = _record_options(args)
    check_parameters(options)
    api, base_url = APIS[args.api], options.base_url or ""
    token = resolve_token(api, options.token)
    client = None
    if not token and own["record_mode"] == "all":
        client = resolve_client(api, options.client_id, options.client_secret)
    if client is None:
        check_credential(token, "--token" if options.token else api.credential_env)
    polling = Polling()
    polling = replace(polling, first=options.poll_interval or polling.first)
    polling = replace(polling, timeout=options.lifecycle_timeout or polling.timeout)
    policy = options.policy()
    if own["record_mode"] == "all":  # recording an unreachable server: one line, nothing recorded
        check_reachable(args.api, split_base_url(base_url)[0], policy)
    outcome = record(
        args.api,
        base_url,
        token,
        own["out"] or Path("cassettes") / args.api,
        record_mode=own["record_mode"],
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
    verb = "recorded" if own["record_mode"] == "all" else "replayed"
    print(f"{verb} {outcome.interactions} interactions of {args.api} in {printable(str(outcome.cassette))}")
    return 0


def replay_command(args: argparse.Namespace) -> int:
    from conformance.bounds import ReadLimits, printable
    from conformance.cassettes.replay import replay
    from conformance.cli.console import print_summary
    from conformance.cli.step_summary import github_outputs
    from conformance.results.files import ensure_report_dir
    from conformance.results.publish import publish_run

    given = config.command_line(REPLAY, args)
    values = config.settings(REPLAY, given, config.load_config(given.get("config")))
    chosen = {s.field: values.get(s.field, s.default) for s in settings_of(REPLAY)}
    defaults = RunOptions()
    report_dir = chosen["report_dir"]
    ensure_report_dir(report_dir)
    result, unattributed = replay(
        args.paths,
        chosen["api"],
        strict=values.get("strict", defaults.strict),
        fail_on=values.get("fail_on", defaults.fail_on),
        limits=ReadLimits(values.get("max_body_bytes", defaults.max_body_bytes)),
        skip_unknown=chosen["skip_unknown"],
    )
    for error in unattributed:
        print(f"conformance: error: {printable(error)}", file=sys.stderr)
    document = publish_run(result, report_dir)
    print_summary(document, str(report_dir))
    github_outputs(document, str(report_dir))
    if result.skipped:
        print(f"skipped {result.skipped} recorded calls outside the contracts (--skip-unknown)")
    return result.exit_code


def diff_command(args: argparse.Namespace) -> int:
    from conformance.cassettes.diff import diff, write_diff
    from conformance.cli.console import print_diff

    outcome = diff(args.old, args.new, args.api, limits=args.limits)
    if args.report_dir:  # written before anything is printed: the terminal cannot cost the file
        write_diff(outcome, args.report_dir)
    print_diff(outcome)
    return outcome.exit_code
