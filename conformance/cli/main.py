"""The ``conformance`` command: a thin shell over the Python API.

Exit codes: 0 no new drift, 1 new drift (``--strict``: any deviation), 2 could not run.
Anything that stops a run is one line on stderr, never a traceback.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

from conformance.cli.arguments import build_parser
from conformance.cli.listing import list_command
from conformance.cli.recordings import diff_command, record_command, replay_command
from conformance.cli.reports import compare_command, report_command
from conformance.cli.running import run_command
from conformance.cli.serving import serve_command
from conformance.errors import ConformanceError

#: The module each command spends its time in (a run: schemathesis and hypothesis).
_WORKING_MODULES = {
    "run": "conformance.engine.runner",
    "record": "conformance.engine.runner",
    "replay": "conformance.cassettes.replay",
}


def console() -> int:
    """The installed command and ``python -m conformance``: ``main`` in a process of its own."""
    return main(own_process=True)


def _tune_collector(command: str) -> None:
    """In a process of the command's own, the garbage collector leaves alone what the imports made
    (``gc.freeze``, once the command's working module is loaded) and looks at new objects after
    10,000 rather than 700: a run makes millions of short-lived objects, and the collector walking
    what the imports made again and again took a tenth of its CPU (mypy tunes its own the same
    way). A test that calls ``main`` in its own process keeps its collector as it is."""
    gc.set_threshold(10_000, 10, 10)
    if command in _WORKING_MODULES:
        importlib.import_module(_WORKING_MODULES[command])
    gc.freeze()


def main(argv: list[str] | None = None, *, own_process: bool = False) -> int:
    try:
        parser = build_parser()
        if not (sys.argv[1:] if argv is None else argv):  # bare `conformance`: what it can do
            sys.stderr.write(parser.format_help())
            return 2
        args = parser.parse_args(argv)
        if own_process:
            _tune_collector(args.command)
        return {
            "serve": serve_command,
            "run": run_command,
            "list": list_command,
            "record": record_command,
            "replay": replay_command,
            "diff": diff_command,
            "report": report_command,
            "compare": compare_command,
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
    vendors' variables hold (``--token``, ``--client-secret``, the userinfo and query of
    ``--base-url``, credential headers) is redacted, control characters are escaped, and the line
    is cut."""
    from conformance.bounds import clip, printable
    from conformance.redact import Redactor, is_secret_header, url_secrets

    args = list(sys.argv[1:] if argv is None else argv)
    secrets: list[str | None] = []  # the vendors' variables: every Redactor knows them
    names: set[str] = set()
    for flag, value in zip(args, [*args[1:], ""], strict=True):
        if flag in ("--token", "--client-secret"):
            secrets.append(value)
        elif flag == "--base-url":
            values, query = url_secrets(value)
            secrets += values
            names |= query
        elif flag in ("--header", "-H") and is_secret_header(value.partition(":")[0].strip()):
            secrets.append(value.partition(":")[2].strip())
    for arg in args:
        for prefix in ("--token=", "--client-secret=", "--base-url="):
            if arg.startswith(prefix):
                secrets += [arg[len(prefix) :]] + url_secrets(arg[len(prefix) :])[0]
    text = " ".join(str(error).split()) if not isinstance(error, ConformanceError) else str(error)
    return clip(printable(Redactor(secrets, names).text(text)), 1000)
