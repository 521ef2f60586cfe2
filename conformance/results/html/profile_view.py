"""The report's behaviour profile: per operation, the statuses it answered, its response times
(p95 over the nights of ``history.jsonl`` as a small line) and what each place of its bodies held,
so a reader sees what tomorrow's night is compared with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Nights the p95 line spans, and values shown per place.
NIGHTS = 30
SHOWN_VALUES = 8


@dataclass(frozen=True)
class PlaceView:
    status: str
    location: str
    types: str
    #: How often the member was there, when not always (``None``: in every object that could hold it).
    presence: str | None
    shapes: str
    values: str


@dataclass(frozen=True)
class ProfileView:
    target: str
    operation: str
    statuses: str
    latency: str
    #: The p95 over the nights as polyline points in a 100 x 20 box; ``None`` before a second night.
    trend: str | None
    places: list[PlaceView]


def _counts(counts: dict[str, int], limit: int | None = None) -> str:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    shown = " · ".join(f"{name} {count}" for name, count in ordered[:limit])
    return shown + (f" · … {len(ordered) - limit} more" if limit and len(ordered) > limit else "")


def _presence(places: dict[str, Any], location: str) -> str | None:
    parent, _, name = location.rpartition("/")
    objects = places.get(parent, {}).get("objects", 0) if location and name != "*" else 0
    seen = places[location]["seen"]
    return f"{seen / objects:.0%} of {objects}" if objects and seen < objects else None


def _places(status: str, places: dict[str, Any]) -> list[PlaceView]:
    views = []
    for location, place in places.items():
        values = place.get("values", {})
        views.append(
            PlaceView(
                status=status,
                location=location or "(body)",
                types=_counts(place["types"]),
                presence=_presence(places, location),
                shapes=_counts(place.get("shapes") or {}),
                values="many (not enum-like)" if values is None else _counts(values, SHOWN_VALUES),
            )
        )
    return views


def _trend(history: list[dict[str, Any]], target: str, operation: str) -> str | None:
    """p95 of the last ``NIGHTS`` nights that timed the operation, scaled to the box."""
    values = [
        float(entry["apis"][target]["latency"][operation])
        for entry in history[-NIGHTS:]
        if operation in entry.get("apis", {}).get(target, {}).get("latency", {})
    ]
    if len(values) < 2:
        return None
    top = max(values) or 1.0
    step = 100 / (len(values) - 1)
    return " ".join(f"{index * step:.1f},{20 - 18 * value / top:.1f}" for index, value in enumerate(values))


def profile_views(document: dict[str, Any], history: list[dict[str, Any]]) -> list[ProfileView]:
    """Every profiled operation of ``document`` (its APIs carry their targets), in its order."""
    views = []
    for api in document["apis"]:
        for operation in api["operations"]:
            profile = operation.get("profile")
            if not profile:
                continue
            latency = profile.get("latency")
            views.append(
                ProfileView(
                    target=api["target"],
                    operation=operation["operation"],
                    statuses=_counts(profile["statuses"]),
                    latency=(
                        f"p50 {latency['p50_ms']:g} ms · p95 {latency['p95_ms']:g} ms · max "
                        f"{latency['max_ms']:g} ms ({latency['responses']} timed)"
                        if latency
                        else "not timed"
                    ),
                    trend=_trend(history, api["target"], operation["operation"]),
                    places=[
                        view
                        for status, places in profile["bodies"].items()
                        for view in _places(status, places)
                    ],
                )
            )
    return views
