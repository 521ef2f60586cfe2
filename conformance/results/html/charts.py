"""Geometry for the report's inline SVG charts, computed here so the template only draws.

Charts are plain SVG in the page: they need no script, no font download and no network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.findings import OUTCOMES

#: Colours for the trend lines, one per API in document order; chosen to stay apart in greyscale.
SERIES_COLOURS = ("#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#57606a")
#: How many past runs the trend shows; older lines stay in history.jsonl.
TREND_RUNS = 30


@dataclass(frozen=True)
class Segment:
    """One outcome's part of a bar, on a 100-wide bar: its width is its share in percent."""

    outcome: str
    count: int
    x: float
    width: float


@dataclass(frozen=True)
class ScoreBar:
    """One API's judged responses as a stacked bar: conforming, known, convention, assumption,
    additive, breaking. Stacked, so a run of catalogued quirks shows as quirks, not as 100%."""

    api: str
    score: float
    y: float
    cases: int
    segments: list[Segment]

    @property
    def conforming(self) -> float:
        """Share of responses without any deviation, in percent (0 when none was judged)."""
        return next((s.width for s in self.segments if s.outcome == "conforming"), 0.0)


@dataclass(frozen=True)
class ScoreChart:
    """Stacked bars beside their API names, sized for the SVG view box."""

    label_width: float
    bar_width: float
    row_height: float
    height: float
    bars: list[ScoreBar]


#: The target of history lines written before lines carried one.
UNRECORDED = "target not recorded"


@dataclass(frozen=True)
class TrendSeries:
    """One API's score line against one target across runs, with its latest point marked."""

    label: str
    colour: str
    points: str
    last_x: float
    last_y: float
    last_score: float


@dataclass(frozen=True)
class TrendRun:
    """A run's marker under the lines: red when it found new drift."""

    x: float
    finished_at: str
    state: str
    new: int


@dataclass(frozen=True)
class TrendChart:
    """Score lines per API over recent runs, with one verdict marker per run beneath them."""

    width: float
    height: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    gridlines: list[tuple[float, int]]
    series: list[TrendSeries]
    runs: list[TrendRun]
    first: str
    last: str


def api_state(api: dict[str, Any]) -> str:
    """One word per API for colour: breaking drift outranks errors, which outrank the deviations
    that do not fail a run by default (known quirks, departures from HTTP conventions,
    assumptions, additive drift)."""
    if api.get("breaking", api["new"]):
        return "drift"
    if api["errors"]:
        return "error"
    deviated = api["known"] or api["new"] or api.get("assumption") or api.get("convention")
    return "known" if deviated else "clean"


def segments(responses: dict[str, int]) -> list[Segment]:
    """The outcomes of ``responses`` laid end to end on a 100-wide bar (empty outcomes left
    out); each starts where the last ended, so rounding leaves no gap."""
    total = sum(responses.get(name, 0) for name in OUTCOMES)
    parts, done = [], 0
    for name in OUTCOMES:
        count = responses.get(name, 0)
        if not count:
            continue
        start, done = round(100.0 * done / total, 2), done + count
        parts.append(Segment(name, count, start, round(100.0 * done / total, 2) - start))
    return parts


def score_chart(apis: list[dict[str, Any]]) -> ScoreChart:
    label_width, bar_width, row_height = 150.0, 300.0, 30.0
    bars = [
        ScoreBar(
            api=api["target"],
            score=api["score"],
            y=index * row_height,
            cases=api["cases"],
            segments=segments(api.get("responses", {})),  # version 2 files have none
        )
        for index, api in enumerate(apis)
    ]
    return ScoreChart(label_width, bar_width, row_height, row_height * len(bars), bars)


def trend_chart(history: list[dict[str, Any]], current: list[tuple[str, str]]) -> TrendChart | None:
    """Score per API and target over the last runs, this run's (``current``) first; ``None``
    until there are two runs to compare. A mock night and a night against the vendor are
    two series, never one line."""
    runs = history[-TREND_RUNS:]
    if len(runs) < 2:
        return None
    width, height = 520.0, 200.0
    left, right, top, bottom = 36.0, width - 70.0, 10.0, height - 46.0
    step = (right - left) / (len(runs) - 1)
    scores = [api["score"] for run in runs for api in run["apis"].values()]
    # Scores cluster near 100: start the axis at the tens below the lowest so changes show.
    floor = max(0, min(90, int(min(scores, default=100.0) // 10) * 10))

    def y_of(score: float) -> float:
        share = (max(floor, min(score, 100.0)) - floor) / (100.0 - floor)
        return round(bottom - (bottom - top) * share, 1)

    def x_of(position: int) -> float:
        return round(left + step * position, 1)

    series = _trend_series(runs, current, x_of, y_of)
    markers = [
        TrendRun(
            x=x_of(position),
            finished_at=run["finished_at"],
            state={0: "clean", 1: "drift"}.get(run["exit_code"], "error"),
            new=sum(api.get("new", 0) for api in run["apis"].values()),
        )
        for position, run in enumerate(runs)
    ]
    gridlines = [(y_of(score), score) for score in (floor, (floor + 100) // 2, 100)]
    return TrendChart(
        width=width,
        height=height,
        plot_bottom=bottom,
        plot_left=left,
        plot_right=right,
        gridlines=gridlines,
        series=series,
        runs=markers,
        first=runs[0]["finished_at"],
        last=runs[-1]["finished_at"],
    )


def _series_key(name: str, entry: dict[str, Any]) -> tuple[str, str]:
    """The line a history entry belongs to: its API and its target (a line written before lines
    carried a target is ``UNRECORDED``)."""
    return name, entry.get("target", UNRECORDED)


def _trend_series(
    runs: list[dict[str, Any]],
    current: list[tuple[str, str]],
    x_of: Callable[[int], float],
    y_of: Callable[[float], float],
) -> list[TrendSeries]:
    """One line per API and target that ``runs`` scored, this run's first, each coloured by its
    place among them; the runs are at ``x_of`` their position, a score at ``y_of`` it."""
    keys = list(
        dict.fromkeys([*current, *(_series_key(*item) for run in runs for item in run["apis"].items())])
    )
    series = []
    for index, (name, target) in enumerate(keys):
        points = [
            (x_of(position), y_of(entry["score"]), entry["score"])
            for position, run in enumerate(runs)
            if (entry := run["apis"].get(name)) is not None and _series_key(name, entry) == (name, target)
        ]
        if points:
            series.append(
                TrendSeries(
                    label=name if " @ " in name else f"{name} · {target}",  # a merged target names its URL
                    colour=SERIES_COLOURS[index % len(SERIES_COLOURS)],
                    points=" ".join(f"{x},{y}" for x, y, _ in points),
                    last_x=points[-1][0],
                    last_y=points[-1][1],
                    last_score=points[-1][2],
                )
            )
    return series
