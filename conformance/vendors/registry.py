"""Vendors, each one declaration: name, credential and where it travels, spec, catalogue, mock.

Everything else (redaction, recording, the lifecycle, the runner, the mocks, the tests' tables
and the nightly matrix) reads these declarations. Vendors are found through the entry point
group ``conformance.vendors``: the four built-in ones register there like any team's own, so a
fifth vendor is a package of its own that declares an ``ApiInfo`` and ships its spec, catalogue
and mock beside it, without a change to this one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import import_module, metadata
from pathlib import Path
from typing import Any, Literal

from conformance.errors import UsageError

ENTRY_POINT_GROUP = "conformance.vendors"
#: The specs, catalogues and cassettes the suite ships: inside the package, in an installed wheel as
#: in a checkout (where ``conformance/_data/`` links to the repository's ``specs/`` and ``cassettes/``).
DATA_DIR = Path(__file__).resolve().parent.parent / "_data"
SPECS_DIR = DATA_DIR / "specs"
CASSETTES_DIR = DATA_DIR / "cassettes"
#: Points the suite at another copy of ``specs/`` (a spec under review, a broken one in a test).
SPECS_DIR_ENV = "CONFORMANCE_SPECS_DIR"


def specs_dir() -> Path:
    """Where the built-in specs and ``quirks/`` are read from: ``$CONFORMANCE_SPECS_DIR``, else ``specs/``."""
    return Path(os.environ.get(SPECS_DIR_ENV) or SPECS_DIR)


@dataclass(frozen=True)
class Carrier:
    """One place a vendor's credential travels: a header (after ``prefix``), a query parameter
    (on the operations that declare it, instead of the headers) or a cookie."""

    where: Literal["header", "query", "cookie"]
    name: str
    prefix: str = ""


@dataclass(frozen=True)
class OAuth:
    """A vendor that issues OAuth 2.0 access tokens: a run given no token signs in at the spec's
    token operation with the client's id and secret (``grant``, client credentials) and refreshes
    the token before it expires (``conformance.http.oauth``)."""

    #: The operationId of the token endpoint in the vendor's spec (where it is, and what it answers).
    token_operation: str
    #: The environment variables that hold the client's id and secret of a real server.
    client_id_env: str
    client_secret_env: str
    grant: str = "client_credentials"


@dataclass(frozen=True)
class ApiInfo:
    """A vendor API, declared once."""

    name: str
    title: str
    #: The environment variable that holds the credential of a real server.
    credential_env: str
    #: Where the credential may travel; the first header carrier is the one requests use.
    carriers: tuple[Carrier, ...]
    #: ``module:Class`` of the embedded mock (a ``conformance.mocks.VendorMock``), imported when used.
    mock: str
    #: ``module:function`` yielding the documents' examples, for ``cassettes/documented/``.
    examples: str | None = None
    #: The folder holding ``<name>.yaml`` and ``quirks/<name>.yaml``; ``None``: the built-in specs.
    specs: Path | None = None
    #: Other headers and members whose values are secrets in this vendor's traffic.
    secret_names: tuple[str, ...] = ()
    #: Where a run signs in when it is given no token; ``None``: the credential is a fixed key.
    oauth: OAuth | None = None

    @property
    def spec_path(self) -> Path:
        return (self.specs or specs_dir()) / f"{self.name}.yaml"

    @property
    def quirks_path(self) -> Path:
        return (self.specs or specs_dir()) / "quirks" / f"{self.name}.yaml"

    @property
    def base_url_env(self) -> str:
        """The variable a nightly job reads a real server's base URL from."""
        return f"{self.name.upper()}_BASE_URL"

    @property
    def secret_envs(self) -> tuple[str, ...]:
        """The environment variables that hold this vendor's credentials: its key, its OAuth client."""
        client = (self.oauth.client_id_env, self.oauth.client_secret_env) if self.oauth else ()
        return (self.credential_env, *client)

    @property
    def query_carrier(self) -> str | None:
        return next((c.name for c in self.carriers if c.where == "query"), None)

    def auth_headers(self, token: str) -> dict[str, str]:
        """Headers that carry ``token`` in this vendor's documented scheme."""
        carrier = next((c for c in self.carriers if c.where == "header"), None)
        return {carrier.name: f"{carrier.prefix}{token}"} if carrier else {}

    def credential_parameters(self, token: str) -> dict[str, str]:
        """Parameter overrides that put ``token`` where an operation takes it outside the headers."""
        query = self.query_carrier
        return {f"query.{query}": token} if query else {}

    def credentials(self, token: str, parameter_names: set[str]) -> tuple[dict[str, str], dict[str, str]]:
        """``(headers, query)`` that carry ``token`` on an operation with these parameters: in the
        query where the operation declares the vendor's query carrier (and then only there), else
        in the headers."""
        query = self.query_carrier
        if query and query in parameter_names:
            return {}, {query: token}
        return self.auth_headers(token), {}

    def create_mock(self, *args: Any, **kwargs: Any) -> Any:
        return load_object(self.mock)(*args, **kwargs)


def load_object(reference: str) -> Any:
    """The object a ``module:attribute`` reference names."""
    module, _, attribute = reference.partition(":")
    return getattr(import_module(module), attribute)


class _Registry(Mapping[str, ApiInfo]):
    """The vendors registered under ``conformance.vendors``, loaded on first use, in name order
    of the built-in ones first."""

    @cached_property
    def _vendors(self) -> dict[str, ApiInfo]:
        found: dict[str, ApiInfo] = {}
        for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
            info = entry.load()
            if not isinstance(info, ApiInfo) or info.name != entry.name:
                raise UsageError(
                    f"entry point {entry.name!r} ({entry.value}) is not the ApiInfo of that name"
                )
            found.setdefault(info.name, info)
        order = {name: index for index, name in enumerate(BUILT_IN)}
        return dict(sorted(found.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))

    def __getitem__(self, name: str) -> ApiInfo:
        return self._vendors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._vendors)

    def __len__(self) -> int:
        return len(self._vendors)


BUILT_IN = ("solvexia", "robocorp", "kognitos", "automation_runs")
APIS: Mapping[str, ApiInfo] = _Registry()


def get_api(name: str) -> ApiInfo:
    """Look an API up by name, with a message that lists the valid names."""
    try:
        return APIS[name]
    except KeyError:
        raise UsageError(f"unknown API {name!r}; choose from: {', '.join(APIS)}") from None


def resolve_apis(names: list[str] | None) -> list[ApiInfo]:
    """All APIs when ``names`` is empty, else the named ones in the order given."""
    if not names:
        return list(APIS.values())
    return [get_api(name) for name in dict.fromkeys(names)]


def credential_names() -> frozenset[str]:
    """Every header, query parameter, cookie and member name in which a registered vendor's
    traffic carries a secret."""
    return frozenset(
        name.lower()
        for api in APIS.values()
        for name in (*(carrier.name for carrier in api.carriers), *api.secret_names)
    )
