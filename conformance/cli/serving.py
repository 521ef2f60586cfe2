"""``conformance serve``: an embedded mock on loopback, for a team's own tests."""

from __future__ import annotations

import argparse
import math

from conformance.cli.arguments import MOCK_TOKEN_ENV
from conformance.errors import UsageError
from conformance.vendors.registry import APIS


def serve_command(args: argparse.Namespace) -> int:
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
