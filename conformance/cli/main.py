"""The ``conformance`` command: a thin shell over the Python API.

Exit codes: 0 no new drift, 1 new drift (``--strict``: any deviation), 2 could not run.
Anything that stops a run is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import NoReturn

from conformance import __version__
from conformance.cli import config
from conformance.engine.options import MAX_LIFECYCLE_TIMEOUT, MAX_REQUEST_TIMEOUT, PHASES, RunOptions
from conformance.errors import ConformanceError, UsageError
from conformance.findings import fail_on_usage
from conformance.vendors.registry import APIS, resolve_apis

DEFAULT_REPORT_DIR = Path("reports/latest")
#: What a served mock accepts when given no --token (``conformance.mocks.base``; not imported here,
#: so that ``--help`` stays light).
MOCK_TOKEN_ENV, DEFAULT_MOCK_TOKEN = "CONFORMANCE_MOCK_TOKEN", "conformance-demo"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0..65535)")
    return port


def _megabytes(text: str) -> float:
    """``--max-body-mb``: a finite positive number (``nan``, ``inf`` and ``0`` are refused)."""
    try:
        return config.megabytes(text) / (1024 * 1024)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of megabytes") from None
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    if value > MAX_REQUEST_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_REQUEST_TIMEOUT:g} seconds")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="conformance", description="Contract tests for process-run APIs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND", help="one of:"
    )

    serve = commands.add_parser("serve", help="serve an embedded mock")
    serve.add_argument("api", choices=list(APIS), help="the API whose mock to serve")
    serve.add_argument(
        "--port", type=_port, default=0, help="loopback port, 0 to 65535 (default 0: any free)"
    )
    serve.add_argument("--exit-with-parent", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument(
        "--mode",
        choices=["faithful", "strict"],
        default="faithful",
        help="faithful: the documented quirks too (default); strict: exactly the spec",
    )
    serve.add_argument(
        "--token",
        help=f"credential the mock accepts (default: ${MOCK_TOKEN_ENV}, else {DEFAULT_MOCK_TOKEN!r})",
    )
    serve.add_argument(
        "--client-id", help="OAuth client id its token endpoint accepts ($CONFORMANCE_MOCK_CLIENT_ID or demo)"
    )
    serve.add_argument(
        "--client-secret", help="that client's secret ($CONFORMANCE_MOCK_CLIENT_SECRET or demo)"
    )
    serve.add_argument("--token-lifetime", type=float, help="seconds an issued access token lives (600)")

    run = commands.add_parser(
        "run",
        help="check APIs against their contracts",
        argument_default=argparse.SUPPRESS,
        description="Settings also come from conformance.toml ([run] and [run.<api>]); options here win.",
    )
    run.add_argument("apis", nargs="*", metavar="API", help=f"any of: {', '.join(APIS)} (default: all)")
    run.add_argument("--config", type=Path, help="settings file (default: ./conformance.toml if present)")
    run.add_argument("--base-url", help="a real server to check (one API); default: embedded mocks")
    run.add_argument("--token", help="credential (default: the API's environment variable)")
    run.add_argument("--client-id", help="sign in as this OAuth client when no token is given")
    run.add_argument("--client-secret", help="that client's secret (better: the API's variable)")
    run.add_argument("--max-examples", type=int, help="hypothesis examples per operation and phase (10)")
    run.add_argument("--seed", type=int, help="a seed, to repeat a run exactly")
    run.add_argument("--phases", help=f"comma-separated subset of {','.join(PHASES)} (all)")
    run.add_argument("--workers", type=int, help="schemathesis workers per API (1)")
    run.add_argument("--strict", action="store_true", help="any deviation, known or new, fails the run")
    run.add_argument(
        "--fail-on",
        metavar=fail_on_usage(),
        help="new drift that fails the run: breaking (default) or any (additive too); "
        "with resolved, a catalogued quirk the vendor seems to have fixed fails it too",
    )
    run.add_argument("--mock-mode", choices=["faithful", "strict"], help="embedded mocks' mode (faithful)")
    run.add_argument("--report-dir", type=Path, help=f"where reports go ({DEFAULT_REPORT_DIR})")
    run.add_argument("--request-timeout", type=float, help="seconds per read, and for a whole body (10)")
    run.add_argument("--max-body-mb", type=float, help="larger bodies are not read, a finding (10)")
    run.add_argument(
        "--lifecycle-timeout", type=float, help="seconds a started run may take (600 real server, 30 mocks)"
    )
    run.add_argument(
        "--poll-interval",
        type=float,
        help="first wait between polls of a run, doubling to 30 s (1; mocks 0.05)",
    )
    run.add_argument("--rate-limit", type=float, help="requests per second per API (unlimited)")
    run.add_argument(
        "--header",
        action="append",
        metavar="'NAME: VALUE'",
        help="sent with every request (repeatable; credential-shaped values are redacted)",
    )
    run.add_argument("--proxy", help="proxy URL for every request")
    run.add_argument(
        "--tls-verify", action=argparse.BooleanOptionalAction, help="verify TLS certificates (default: yes)"
    )
    run.add_argument("--cacert", help="CA bundle to verify TLS certificates against")
    run.add_argument(
        "--include-operation", action="append", metavar="OPERATION_ID", help="check only these (repeatable)"
    )
    run.add_argument(
        "--exclude-operation", action="append", metavar="OPERATION_ID", help="do not check these (repeatable)"
    )
    run.add_argument(
        "--shard", metavar="I/N", help="check the I-th of N shares of the operations (merge with report)"
    )

    listing = commands.add_parser("list", help="list the APIs, their operations and catalogue sizes")
    listing.add_argument(
        "--json",
        action="store_true",
        help="the vendors as a JSON list (api, title, credential, base_url; client_id, client_secret)",
    )

    record = commands.add_parser("record", help="record every operation of an API into a redacted cassette")
    record.add_argument("api", choices=list(APIS), help="the API to record")
    record.add_argument("--base-url", required=True, help="the server to record")
    record.add_argument("--token", help="credential (default: the API's environment variable)")
    record.add_argument("--client-id", help="sign in as this OAuth client when no token is given")
    record.add_argument("--client-secret", help="that client's secret (better: the API's variable)")
    record.add_argument("--out", type=Path, help="cassette directory (default: cassettes/<api>/)")
    record.add_argument("--record-mode", choices=["all", "none"], default="all", help="none: replay only")
    record.add_argument(
        "--poll-interval",
        type=float,
        default=1.0,
        help="first wait between polls of the run, doubling to 30 s",
    )
    record.add_argument("--lifecycle-timeout", type=float, default=600.0, help="seconds the run may take")
    record.add_argument(
        "--request-timeout", type=_seconds, default=10.0, help="seconds per read, headers, and body (10)"
    )
    record.add_argument(
        "--max-body-mb", type=_megabytes, default=10.0, help="larger bodies are not recorded (10)"
    )

    replay = commands.add_parser("replay", help="judge recorded cassettes as a run judges live traffic")
    replay.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="cassette files or directories")
    replay.add_argument("--api", choices=list(APIS), help="default: inferred from each request URL")
    replay.add_argument("--strict", action="store_true", help="any deviation, known or new, fails")
    replay.add_argument(
        "--report-dir", type=Path, default=DEFAULT_REPORT_DIR, help=f"where reports go ({DEFAULT_REPORT_DIR})"
    )
    replay.add_argument(
        "--skip-unknown",
        action="store_true",
        help="count calls to other services (hosts or paths outside every contract) as skipped, not errors",
    )
    replay.add_argument(
        "--max-body-mb", type=_megabytes, default=10.0, help="larger bodies are not read (a finding)"
    )

    diff = commands.add_parser("diff", help="what changed between two recordings (or two results.json)")
    diff.add_argument("old", type=Path, metavar="OLD", help="the earlier cassette, folder or results.json")
    diff.add_argument("new", type=Path, metavar="NEW", help="the later one, of the same kind")
    diff.add_argument("--api", choices=list(APIS), help="default: inferred from each request URL")
    diff.add_argument("--report-dir", type=Path, help="also write diff.json there")
    diff.add_argument("--max-body-mb", type=_megabytes, default=10.0, help="larger bodies are not read (10)")

    report = commands.add_parser(
        "report", help="render the HTML report of a results.json again, or merge several into one"
    )
    report.add_argument(
        "results",
        type=Path,
        nargs="+",
        metavar="RESULTS.json",
        help="a results.json a run wrote; several (shards, vendors, targets) are merged into --out",
    )
    report.add_argument(
        "--out",
        type=Path,
        help="directory for index.html (default: beside RESULTS.json); a merge writes its whole set there",
    )
    report.add_argument(
        "--baseline", type=Path, metavar="OLD.json", help="open the report with what changed since OLD.json"
    )
    report.add_argument(
        "--max-body-mb", type=_megabytes, default=10.0, help="results files up to 4x this are read (10)"
    )

    comparing = commands.add_parser("compare", help="what changed between two results.json (last night, now)")
    comparing.add_argument("old", type=Path, metavar="OLD.json", help="the earlier results.json")
    comparing.add_argument("new", type=Path, metavar="NEW.json", help="the later one")
    comparing.add_argument("--json", action="store_true", help="print the changes as JSON")
    comparing.add_argument(
        "--max-body-mb", type=_megabytes, default=10.0, help="results files up to 4x this are read (10)"
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    from conformance.mocks import create_mock
    from conformance.mocks.process import exit_with_parent
    from conformance.mocks.server import bind_loopback, uvicorn_server

    oauth = {
        name: value
        for name in ("client_id", "client_secret", "token_lifetime")
        if (value := getattr(args, name)) is not None
    }
    if oauth and APIS[args.api].oauth is None:
        raise UsageError(
            f"{args.api} has no token endpoint: --client-id, --client-secret and --token-lifetime"
        )
    if "token_lifetime" in oauth and not (
        math.isfinite(oauth["token_lifetime"]) and oauth["token_lifetime"] > 0
    ):
        raise UsageError("--token-lifetime must be a positive number of seconds")
    mock = create_mock(args.api, args.mode, args.token, **oauth)
    try:
        sock = bind_loopback(args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on port {args.port}: {exc.strerror}") from None
    port = sock.getsockname()[1]
    server = uvicorn_server(mock.app())
    if args.exit_with_parent:
        exit_with_parent(server)
    print(f"serving {args.api} at http://127.0.0.1:{port}{mock.spec.base_path}", flush=True)
    print(f"it accepts {_token_source(args.token)}, sent as {_carried(args.api)}", flush=True)
    server.run(sockets=[sock])
    return 0


def _token_source(explicit: str | None) -> str:
    """The token a served mock accepts: shown when it is the default, named when it was given
    (a value given on the command line or in the environment is never printed)."""
    from conformance.mocks import DEFAULT_TOKEN, mock_token

    if explicit:
        return "the token given with --token"
    if mock_token() != DEFAULT_TOKEN:
        return f"the token in ${MOCK_TOKEN_ENV}"
    return f"the token {DEFAULT_TOKEN!r} (set --token or ${MOCK_TOKEN_ENV} for another)"


def _carried(api: str) -> str:
    """How a client sends the token to ``api``: its documented carriers."""
    where = {"header": "header", "query": "query parameter", "cookie": "cookie"}
    named = [(f"{where[c.where]} {c.name}", f": {c.prefix}…" if c.prefix else "") for c in APIS[api].carriers]
    return " or ".join(place + prefix for place, prefix in named)


@contextmanager
def _interruptible() -> Iterator[list[int]]:
    """SIGINT and SIGTERM stop a run the same way: the first raises ``KeyboardInterrupt`` in the
    main thread, so the run stops and its results so far are written; later ones are ignored
    until that is done (a second Ctrl-C must not cut a report in half)."""
    received: list[int] = []

    def stop(signum: int, _: FrameType | None) -> None:
        if not received:
            received.append(signum)
            raise KeyboardInterrupt

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _max_body_bytes(megabytes: float) -> int:
    return config.megabytes(megabytes)


#: ``conformance run`` arguments that are not settings of the run itself.
_RUN_ONLY = ("command", "config", "report_dir", "apis", "token", "client_id", "client_secret")


def run_options(args: argparse.Namespace) -> tuple[RunOptions, Path]:
    """The run's options and report directory: defaults, then conformance.toml, then the command line."""
    given = {key: value for key, value in vars(args).items() if key not in _RUN_ONLY}
    command_line = dict(
        config.convert(key.replace("_", "-"), value, "command line") for key, value in given.items()
    )
    command_line |= {
        key: getattr(args, key)
        for key in ("apis", "token", "client_id", "client_secret")
        if hasattr(args, key)
    }
    settings = config.load_config(getattr(args, "config", None))
    report_dir = getattr(args, "report_dir", None) or Path(settings.pop("report-dir", DEFAULT_REPORT_DIR))
    if "base_url" in command_line and "mock_mode" in command_line:
        raise UsageError("--mock-mode applies to the embedded mocks; it cannot be combined with --base-url")
    options = config.run_options(command_line, settings)
    options.validate()
    return options, report_dir


def _run(args: argparse.Namespace) -> int:
    from conformance.cli.console import print_summary
    from conformance.cli.progress import progress_bar
    from conformance.cli.step_summary import append_step_summary
    from conformance.engine.runner import run
    from conformance.results.files import ensure_report_dir
    from conformance.results.publish import publish_run

    options, report_dir = run_options(args)
    ensure_report_dir(report_dir)
    with _interruptible() as received:
        with progress_bar([api.name for api in resolve_apis(options.apis)]) as hook:
            result = run(options, hook)
        document = publish_run(result, report_dir)
    print_summary(document, str(report_dir))
    append_step_summary(document, str(report_dir))
    if received:
        name = signal.Signals(received[0]).name
        print(f"conformance: interrupted by {name}; partial results in {report_dir}", file=sys.stderr)
        return 130 if received[0] == signal.SIGINT else 2
    return result.exit_code


def _report(args: argparse.Namespace) -> int:
    from conformance.bounds import printable
    from conformance.results.publish import merge_reports, rerender_report

    limit = _max_body_bytes(args.max_body_mb)
    if len(args.results) == 1:
        path = rerender_report(args.results[0], args.out, limit, args.baseline)
        print(f"report written to {printable(str(path))}")
        return 0
    if args.out is None:
        raise UsageError("merging several results files needs --out DIR for the merged report")
    from conformance.cli.console import print_comparison, print_summary
    from conformance.cli.step_summary import append_step_summary

    document, since = merge_reports(args.results, args.out, limit, args.baseline)
    print_summary(document, str(args.out))
    if since is not None:
        print_comparison(since)
    append_step_summary(document, str(args.out), since=since)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from conformance.bounds import FILE_BODIES, strict_json
    from conformance.cli.console import print_comparison
    from conformance.results.compare import compare
    from conformance.results.publish import load_results

    limit = FILE_BODIES * _max_body_bytes(args.max_body_mb)
    comparison = compare(load_results(args.old, limit), load_results(args.new, limit))
    if args.json:
        print(strict_json(comparison.to_dict(), indent=2))
    else:
        print_comparison(comparison)
    return 0


def _record(args: argparse.Namespace) -> int:
    from conformance.bounds import printable
    from conformance.cassettes.record import check_reachable, record
    from conformance.engine.caller import Polling
    from conformance.engine.options import check_base_url, check_credential, split_base_url
    from conformance.engine.runner import resolve_token
    from conformance.http.oauth import resolve_client
    from conformance.http.transport import RequestPolicy

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
        timeout=args.request_timeout, max_body_bytes=_max_body_bytes(args.max_body_mb), params=params
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


def _replay(args: argparse.Namespace) -> int:
    from conformance.bounds import printable
    from conformance.cassettes.replay import replay
    from conformance.cli.console import print_summary
    from conformance.cli.step_summary import append_step_summary
    from conformance.results.files import ensure_report_dir
    from conformance.results.publish import publish_run

    ensure_report_dir(args.report_dir)
    result, unattributed = replay(
        args.paths,
        args.api,
        strict=args.strict,
        max_body_bytes=_max_body_bytes(args.max_body_mb),
        skip_unknown=args.skip_unknown,
    )
    for error in unattributed:
        print(f"conformance: error: {printable(error)}", file=sys.stderr)
    document = publish_run(result, args.report_dir)
    print_summary(document, str(args.report_dir))
    append_step_summary(document, str(args.report_dir))
    if result.skipped:
        print(f"skipped {result.skipped} recorded calls outside the contracts (--skip-unknown)")
    return result.exit_code


def _diff(args: argparse.Namespace) -> int:
    from conformance.cassettes.diff import diff, write_diff
    from conformance.cli.console import print_diff

    outcome = diff(args.old, args.new, args.api, max_body_bytes=_max_body_bytes(args.max_body_mb))
    if args.report_dir:  # written before anything is printed: the terminal cannot cost the file
        write_diff(outcome, args.report_dir)
    print_diff(outcome)
    return outcome.exit_code


def _list(args: argparse.Namespace) -> int:
    from conformance.contract.catalogue import load_catalogue
    from conformance.contract.specs import load_spec

    if args.json:  # the nightly workflow's vendor matrix
        vendors = [
            {"api": name, "title": api.title, "credential": api.credential_env, "base_url": api.base_url_env}
            # a vendor that issues tokens: the variables of the client a nightly job signs in as
            | (
                {"client_id": api.oauth.client_id_env, "client_secret": api.oauth.client_secret_env}
                if api.oauth
                else {}
            )
            for name, api in APIS.items()
        ]
        print(json.dumps(vendors))
        return 0

    for name, api in APIS.items():
        spec, catalogue = load_spec(name), load_catalogue(name)
        print(f"{name}: {api.title} — {len(spec.operations)} operations, {len(catalogue.quirks)} catalogued")
        for operation in spec.operations.values():
            print(f"  {operation.id:<28} {operation.label}")
        assumptions = spec.assumptions()
        print(f"  assumptions where the documents are silent: {len(assumptions)}")
        for reason, pointers in assumptions.items():
            where = pointers[0] + (f" and {len(pointers) - 1} more" if len(pointers) > 1 else "")
            print(f"    - {' '.join(reason.split())} [{where}]")
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        parser = _parser()
        if not (sys.argv[1:] if argv is None else argv):  # bare `conformance`: what it can do
            sys.stderr.write(parser.format_help())
            return 2
        args = parser.parse_args(argv)
        return {
            "serve": _serve,
            "run": _run,
            "list": _list,
            "record": _record,
            "replay": _replay,
            "diff": _diff,
            "report": _report,
            "compare": _compare,
        }[args.command](args)
    except ConformanceError as exc:
        print(f"conformance: error: {_error_line(exc, argv)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `conformance list | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (Exception, RecursionError) as exc:  # a bug, never a traceback in a nightly log
        if os.environ.get("CONFORMANCE_DEBUG"):
            raise
        line = _error_line(exc, argv)
        print(
            f"conformance: error: internal error ({type(exc).__name__}: {line}); "
            "CONFORMANCE_DEBUG=1 shows the traceback",
            file=sys.stderr,
        )
        return 2


def _error_line(error: BaseException, argv: list[str] | None) -> str:
    """An error as one line that shows no credential: every secret the command line or the
    vendors' variables hold (``--token``, the userinfo and query of ``--base-url``, credential
    headers) is redacted, control characters are escaped, and the line is cut."""
    from conformance.bounds import clip, printable
    from conformance.redact import Redactor, is_secret_header, url_secrets

    args = list(sys.argv[1:] if argv is None else argv)
    secrets: list[str | None] = [os.environ.get(api.credential_env) for api in APIS.values()]
    names: set[str] = set()
    for flag, value in zip(args, [*args[1:], ""], strict=True):
        if flag == "--token":
            secrets.append(value)
        elif flag == "--base-url":
            values, query = url_secrets(value)
            secrets += values
            names |= query
        elif flag == "--header" and is_secret_header(value.partition(":")[0].strip()):
            secrets.append(value.partition(":")[2].strip())
    for arg in args:
        for prefix in ("--token=", "--base-url="):
            if arg.startswith(prefix):
                secrets += [arg[len(prefix) :]] + url_secrets(arg[len(prefix) :])[0]
    text = " ".join(str(error).split()) if not isinstance(error, ConformanceError) else str(error)
    return clip(printable(Redactor(secrets, names).text(text)), 1000)
