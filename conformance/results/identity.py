"""Which target an entry of a results document belongs to, and when two findings (or two
resolved quirks) of two results documents are one: ``merge``, ``compare`` and ``diff`` of two
``results.json`` all ask here, so they never disagree on what appeared or disappeared."""

from __future__ import annotations

from typing import Any

from conformance.findings import identity


def target_of(entry: dict[str, Any]) -> str:
    """The target an API entry or a finding belongs to (a version 2 file names only the API)."""
    return str(entry.get("target") or entry["api"])


def finding_identity(finding: dict[str, Any]) -> tuple[str, ...]:
    """A finding of a results document as ``findings.identity`` names it: its target, where and
    what; a group by its pattern alone (its sampled values differ every night)."""
    return identity(
        target_of(finding),
        finding["operation"],
        finding["status_code"],
        finding["location"],
        finding["kind"],
        finding["expected"],
        finding["observed"],
        grouped=bool(finding.get("group")),
    )


def quirk_identity(api: dict[str, Any], quirk: dict[str, Any]) -> tuple[str, str]:
    """A catalogued quirk an API entry lists (resolved, or not checked): its target and its id."""
    return (target_of(api), str(quirk["quirk"]))
