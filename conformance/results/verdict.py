"""The one-line verdict of a run, a replay or a merged report, and the catalogued quirks it
found resolved: the console, the step summary and the report all say the same words."""

from __future__ import annotations

from typing import Any

from conformance.findings import drift_rule


def resolved_lines(document: dict[str, Any]) -> list[str]:
    """Catalogued quirks the vendor seems to have fixed, one line each (the catalogue's section)."""
    return [
        f"{api.get('target') or api['api']} {quirk['quirk']}: not seen in {quirk['responses']} responses "
        f"of {', '.join(quirk['operations'])} ({quirk['citation']})"
        for api in document["apis"]
        for quirk in api.get("resolved_quirks", [])
    ]


def verdict(document: dict[str, Any]) -> str:
    summary, code = document["summary"], document["exit_code"]
    if code == 2:
        return "could not run everything"
    strict = document["fail_on"] == "strict"
    if code == 1 and strict:  # any deviation fails it: say which, and whether any of them is new
        new = f"{summary['new']} new" if summary["new"] else "no new drift"
        known, assumed = summary["known"], summary["assumption"]
        return f"strict run failed on {known} known and {assumed} assumption deviations, {new}"
    failing = summary["breaking"] if drift_rule(document["fail_on"]) == "breaking" else summary["new"]
    if code == 1 and not failing:
        return f"{summary.get('resolved', 0)} catalogued quirks resolved? (--fail-on {document['fail_on']})"
    if code == 1:
        return "NEW DRIFT"
    if strict:
        return "no deviation (strict)"
    if summary["new"]:
        return f"no breaking drift ({summary['additive']} additive; they fail only with --fail-on any)"
    return "no new drift"
