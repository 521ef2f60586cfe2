"""The ``conformance`` command's arguments: one parser, a sub-command per command group."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import NoReturn

from conformance import __version__
from conformance.cli import config
from conformance.engine.options import MAX_REQUEST_TIMEOUT, PHASES
from conformance.errors import UsageError
from conformance.findings import fail_on_usage
from conformance.vendors.registry import APIS

DEFAULT_REPORT_DIR = Path("reports/latest")
#: What a served mock accepts when given no --token (``conformance.mocks.base``; not imported here,
#: so that ``--help`` stays light).
MOCK_TOKEN_ENV, DEFAULT_MOCK_TOKEN = "CONFORMANCE_MOCK_TOKEN", "conformance-demo"


class _Parser(argparse.ArgumentParser):
    """Refuses a command line as every refusal is made: a ``UsageError``, one line, exit code 2."""

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


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; ``main`` hands each command to its module's ``*_command``."""
    parser = _Parser(prog="conformance", description="Contract tests for process-run APIs.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND", help="one of:"
    )
    _serve_arguments(commands)
    _run_arguments(commands)
    _list_arguments(commands)
    _recording_arguments(commands)
    _report_arguments(commands)
    return parser


def _serve_arguments(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``serve``: one embedded mock."""
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


def _run_arguments(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``run``: every setting of a run (``conformance.toml`` gives the rest)."""
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


def _list_arguments(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``list``: the vendors."""
    listing = commands.add_parser("list", help="list the APIs, their operations and catalogue sizes")
    listing.add_argument(
        "--json",
        action="store_true",
        help="the vendors as a JSON list (api, title, credential, base_url; client_id, client_secret)",
    )


def _recording_arguments(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``record``, ``replay`` and ``diff``: cassettes."""
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


def _report_arguments(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``report`` and ``compare``: results files."""
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
    report.add_argument(
        "--config", type=Path, help="[profile] thresholds of --baseline's changes (./conformance.toml)"
    )

    comparing = commands.add_parser("compare", help="what changed between two results.json (last night, now)")
    comparing.add_argument("old", type=Path, metavar="OLD.json", help="the earlier results.json")
    comparing.add_argument("new", type=Path, metavar="NEW.json", help="the later one")
    comparing.add_argument("--json", action="store_true", help="print the changes as JSON")
    comparing.add_argument(
        "--fail-on",
        metavar="changed[:ASPECT]",
        help="exit 1 on these changes of observed behaviour (default: NEW.json's own --fail-on)",
    )
    comparing.add_argument(
        "--config", type=Path, help="[profile] thresholds of a stable change (./conformance.toml)"
    )
    comparing.add_argument(
        "--max-body-mb", type=_megabytes, default=10.0, help="results files up to 4x this are read (10)"
    )
