"""The ``conformance`` command's arguments: one parser, a sub-command per command group."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, NoReturn

from conformance import versions
from conformance.bounds import DEFAULT_LIMITS, ReadLimits
from conformance.engine.settings import RECORD, REPLAY, RUN, Setting, read_limits, settings_of
from conformance.errors import UsageError
from conformance.vendors.registry import APIS

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


def _read_limits(text: str) -> ReadLimits:
    """``--max-body-mb`` of ``diff``, ``report`` and ``compare``: the limits it sets, from a finite
    positive number (``nan``, ``inf`` and ``0`` are refused)."""
    try:
        return read_limits(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of megabytes") from None
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: ``--max-body-mb`` of the commands that read files only, parsed into ``args.limits``.
_LIMITS: dict[str, Any] = {
    "dest": "limits",
    "type": _read_limits,
    "default": DEFAULT_LIMITS,
    "metavar": "MAX_BODY_MB",
}


class _Version(argparse.Action):
    """``--version``: conformance's and the judging libraries' (looked up only when asked)."""

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        for name, version in versions().items():
            print(name, version)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; ``main`` hands each command to its module's ``*_command``."""
    parser = _Parser(prog="conformance", description="Contract tests for process-run APIs.")
    parser.add_argument(
        "--version",
        action=_Version,
        nargs=0,
        default=argparse.SUPPRESS,
        help="show the versions of conformance and its judging libraries",
    )
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


class _Read(argparse.Action):
    """Reads an option's value as it is parsed, by the rules conformance.toml's values are read by
    (``Setting.read``), into the field it sets: a repeated option holds all its values so far."""

    def __init__(self, option_strings: list[str], dest: str, setting: Setting, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.setting = setting

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option: Any = None) -> None:
        value = self.setting.read(values, "command line")
        if self.setting.kind in ("list", "pairs"):
            given = [*getattr(namespace, f"{self.dest}:given", []), values]
            setattr(namespace, f"{self.dest}:given", given)
            value = self.setting.read(given, "command line")
        setattr(namespace, self.dest, value)


def _declared(parser: argparse.ArgumentParser, command: str) -> None:
    """The command's options as ``engine.settings`` declares them, each value read as it is parsed."""
    for setting in settings_of(command):
        flags = [*([setting.short] if setting.short else []), setting.flag]
        if setting.kind == "switch":
            parser.add_argument(*flags, dest=setting.field, action="store_true", help=setting.help)
        elif setting.kind == "toggle":
            toggle = argparse.BooleanOptionalAction
            parser.add_argument(*flags, dest=setting.field, action=toggle, help=setting.help)
        else:
            metavar = setting.metavar or setting.name.split("-")[-1].upper()
            parser.add_argument(
                *flags, dest=setting.field, action=_Read, setting=setting, metavar=metavar, help=setting.help
            )


def _run_arguments(commands: argparse._SubParsersAction[_Parser]) -> None:
    """``run``: every setting of a run (``conformance.toml`` gives the rest)."""
    run = commands.add_parser(
        "run",
        help="check APIs against their contracts",
        argument_default=argparse.SUPPRESS,
        description="Settings also come from conformance.toml ([run] and [run.<api>]); options here win.",
    )
    run.add_argument("apis", nargs="*", metavar="API", help=f"any of: {', '.join(APIS)} (default: all)")
    _declared(run, RUN)


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
    record = commands.add_parser(
        "record",
        help="record every operation of an API into a redacted cassette",
        argument_default=argparse.SUPPRESS,
        description="Settings also come from conformance.toml ([run], [run.<api>], [record]).",
    )
    record.add_argument("api", choices=list(APIS), help="the API to record")
    _declared(record, RECORD)

    replay = commands.add_parser(
        "replay",
        help="judge recorded cassettes as a run judges live traffic",
        argument_default=argparse.SUPPRESS,
        description="Settings also come from conformance.toml ([run], [replay]).",
    )
    replay.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="cassette files or directories")
    _declared(replay, REPLAY)

    diff = commands.add_parser("diff", help="what changed between two recordings (or two results.json)")
    diff.add_argument("old", type=Path, metavar="OLD", help="the earlier cassette, folder or results.json")
    diff.add_argument("new", type=Path, metavar="NEW", help="the later one, of the same kind")
    diff.add_argument("--api", choices=list(APIS), help="default: inferred from each request URL")
    diff.add_argument("--report-dir", type=Path, help="also write diff.json there")
    diff.add_argument("--max-body-mb", help="larger bodies are not read (10)", **_LIMITS)


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
    report.add_argument("--max-body-mb", help="results files up to 4x this are read (10)", **_LIMITS)
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
    comparing.add_argument("--max-body-mb", help="results files up to 4x this are read (10)", **_LIMITS)
