"""Geometry for the report's inline SVG charts, computed here so the template only draws.

Charts are plain SVG in the page: they need no script, no font download and no network.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Colours for the trend lines, one per API in document order; chosen to stay apart in greyscale.
SERIES_COLOURS = ("#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#57606a")
#: How many past runs the trend shows; older lines stay in history.jsonl.
TREND_RUNS = 30


@dataclass(frozen=True)
class ScoreBar:
    """One API's conformance score as a horizontal bar."""

    api: str
    score: float
    y: float
    width: float
    state: str


@dataclass(frozen=True)
class ScoreChart:
    """Bars beside their API names, sized for the SVG view box."""

    label_width: float
    bar_width: float
    row_height: float
    height: float
    bars: list[ScoreBar]


@dataclass(frozen=True)
class TrendSeries:
    """One API's score line across runs, with its latest point marked."""

    api: str
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
    that do not fail a run (known quirks, assumptions, additive drift)."""
    if api.get("breaking", api["new"]):
        return "drift"
    if api["errors"]:
        return "error"
    return "known" if api["known"] or api["new"] or api.get("assumption") else "clean"


def score_chart(apis: list[dict[str, Any]]) -> ScoreChart:
    label_width, bar_width, row_height = 150.0, 300.0, 30.0
    bars = [
        ScoreBar(
            api=api["target"],
            score=api["score"],
            y=index * row_height,
            width=round(bar_width * max(0.0, min(api["score"], 100.0)) / 100.0, 1),
            state=api_state(api),
        )
        for index, api in enumerate(apis)
    ]
    return ScoreChart(label_width, bar_width, row_height, row_height * len(bars), bars)


def trend_chart(history: list[dict[str, Any]], api_names: list[str]) -> TrendChart | None:
    """Score per API over the last runs; ``None`` until there are two runs to compare."""
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

    names = list(dict.fromkeys([*api_names, *(name for run in runs for name in run["apis"])]))
    series = []
    for index, name in enumerate(names):
        points = [
            (round(left + step * position, 1), y_of(run["apis"][name]["score"]), run["apis"][name]["score"])
            for position, run in enumerate(runs)
            if name in run["apis"]
        ]
        if points:
            series.append(
                TrendSeries(
                    api=name,
                    colour=SERIES_COLOURS[index % len(SERIES_COLOURS)],
                    points=" ".join(f"{x},{y}" for x, y, _ in points),
                    last_x=points[-1][0],
                    last_y=points[-1][1],
                    last_score=points[-1][2],
                )
            )
    markers = [
        TrendRun(
            x=round(left + step * position, 1),
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
