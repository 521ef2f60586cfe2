"""``conformance serve``: an embedded mock on loopback, for a team's own tests.

It prints what a client needs: the base URL, the token and how it is sent, where a vendor that
signs clients in (SolveXia) issues tokens and to which client, and the ids the mock holds (a
Robocorp key is valid for one workspace: a client must name it)."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from conformance.cli.arguments import MOCK_TOKEN_ENV
from conformance.errors import UsageError
from conformance.vendors.registry import APIS

if TYPE_CHECKING:
    from conformance.mocks import VendorMock


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
    base_url = f"http://127.0.0.1:{port}{mock.spec.base_path}"
    print(f"serving {args.api} at {base_url}", flush=True)
    print(f"it accepts {_token_source(args.token)}, sent as {_carried(args.api)}", flush=True)
    if APIS[args.api].oauth is not None:
        print(_signs_in(mock, base_url, args), flush=True)
    ids = "; ".join(f"{what}: {', '.join(values)}" for what, values in mock.example_ids().items() if values)
    print(f"ids it holds: {ids}", flush=True)
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


def _signs_in(mock: VendorMock, base_url: str, args: argparse.Namespace) -> str:
    """Where the mock issues tokens and to which client: its id, and its secret when it is the demo
    one (a secret given on the command line or in the environment is named, never printed)."""
    from conformance.mocks.base import DEFAULT_CLIENT_SECRET, mock_client
    from conformance.mocks.process import CLIENT_SECRET_ENV

    oauth = APIS[args.api].oauth
    assert oauth is not None
    operation = mock.spec.operations[oauth.token_operation]
    url = mock.spec.operation_base_url(base_url, operation) + operation.path
    client_id, client_secret = mock_client(args.client_id, args.client_secret)
    if args.client_secret:
        secret = "the secret given with --client-secret"
    elif client_secret != DEFAULT_CLIENT_SECRET:
        secret = f"the secret in ${CLIENT_SECRET_ENV}"
    else:
        secret = f"client secret {DEFAULT_CLIENT_SECRET!r}"
    return (
        f"it signs clients in at {operation.method.upper()} {url} ({oauth.grant.replace('_', ' ')} grant, "
        f"a JSON body): "
        f"client id {client_id!r}, {secret}"
    )


def _carried(api: str) -> str:
    """How a client sends the token to ``api``: its documented carriers."""
    where = {"header": "header", "query": "query parameter", "cookie": "cookie"}
    named = [(f"{where[c.where]} {c.name}", f": {c.prefix}…" if c.prefix else "") for c in APIS[api].carriers]
    return " or ".join(place + prefix for place, prefix in named)
