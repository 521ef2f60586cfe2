"""Exceptions that stop the suite before it can judge anything.

Each one maps to exit code 2 and a one-line message; findings about the API under
test are never raised, they are reported.
"""


class ConformanceError(Exception):
    """The suite could not run; ``str(error)`` is the one line shown to the user."""

    exit_code = 2


class UsageError(ConformanceError):
    """Bad arguments: an unknown API, contradictory flags, an unwritable directory."""


class SpecError(ConformanceError):
    """A spec file is missing, unparsable or not valid OpenAPI."""


class CatalogueError(ConformanceError):
    """A known-deviation catalogue is malformed."""


class ServerUnreachable(ConformanceError):
    """The API under test could not be reached at all."""


class CredentialRefused(ConformanceError):
    """The server refuses the run's credential: a configuration error, not drift."""
