"""Acme Jobs: a fifth vendor declared by a team's own package (this folder on ``sys.path`` is the
installed distribution ``acme-jobs``, whose entry point registers ``ACME``)."""

from pathlib import Path

from conformance.vendors.registry import ApiInfo, Carrier

ACME = ApiInfo(
    "acme",
    "Acme Jobs API",
    "ACME_API_KEY",
    (Carrier("header", "X-Acme-Key"),),
    mock="acme_jobs.mock:Mock",
    specs=Path(__file__).parent / "specs",
)
