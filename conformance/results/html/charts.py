"""Geometry for the report's inline SVG charts, computed here so the template only draws.

Charts are plain SVG in the page: they need no script, no font download and no network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
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
#: Line patterns, one per series as the colours are: lines that coincide still differ in print.
SERIES_DASHES = ("", "7 3", "2 2", "9 3 2 3", "4 4", "1 3")
#: Marker shapes, one per series, as relative path commands from the point: circle, square,
#: triangle, diamond, triangle pointing down, plus; none reaches further than ``MARKER`` from it.
MARKER = 3.5
SERIES_MARKERS = (
    "m-3,0a3,3 0 1,0 6,0a3,3 0 1,0 -6,0z",
    "m-3,-3h6v6h-6z",
    "m0,-3.5l3.5,6.5h-7z",
    "m0,-3.5l3.5,3.5l-3.5,3.5l-3.5,-3.5z",
    "m0,3.5l3.5,-6.5h-7z",
    "m-3.5,-1h2.5v-2.5h2v2.5h2.5v2h-2.5v2.5h-2v-2.5h-2.5z",
)
#: How far apart series are drawn at most, top to bottom: four APIs at 100% are four lines.
SPREAD = 12.0
#: The height of a direct label at a line's end; labels closer than this are pushed apart.
LABEL_HEIGHT = 13.0


@dataclass(frozen=True)
class TrendSeries:
    """One API's score line against one target across runs, drawn ``offset`` pixels off its
    values (so that coinciding lines stay apart), with a marker at every run and its name
    beside its end at ``label_y``."""

    label: str
    name: str
    colour: str
    dash: str
    points: str
    markers: str
    last_x: float
    last_y: float
    last_score: float
    label_y: float
    legend_marker: str


@dataclass(frozen=True)
class TrendRun:
    """A run, shaded across the plot when it found new drift or errors."""

    x: float
    finished_at: str
    state: str
    new: int


@dataclass(frozen=True)
class TrendChart:
    """Score lines per API over recent runs, inside the plot area; the runs that drifted shaded."""

    width: float
    height: float
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    gridlines: list[tuple[float, int]]
    series: list[TrendSeries]
    runs: list[TrendRun]
    #: How wide a run's shading is.
    band: float
    #: The first and last run's times, each as precise as it takes to tell them apart.
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
    two series, never one line. Every mark stays inside the plot: values are mapped into it
    ``inset`` pixels from its edges, room for the series' offsets and their markers."""
    runs = history[-TREND_RUNS:]
    if len(runs) < 2:
        return None
    width, height = 560.0, 200.0
    left, right, top, bottom = 36.0, width - 136.0, 8.0, height - 28.0
    inset = SPREAD / 2 + MARKER + 1
    step = (right - left - 2 * inset) / (len(runs) - 1)
    scores = [api["score"] for run in runs for api in run["apis"].values()]
    # Scores cluster near 100: start the axis at the tens below the lowest so changes show.
    floor = max(0, min(90, int(min(scores, default=100.0) // 10) * 10))

    def y_of(score: float) -> float:
        share = (max(floor, min(score, 100.0)) - floor) / (100.0 - floor)
        return round(bottom - inset - (bottom - top - 2 * inset) * share, 1)

    def x_of(position: int) -> float:
        return round(left + inset + step * position, 1)

    markers = [
        TrendRun(
            x=x_of(position),
            finished_at=run["finished_at"],
            state={0: "clean", 1: "drift"}.get(run["exit_code"], "error"),
            new=sum(api.get("new", 0) for api in run["apis"].values()),
        )
        for position, run in enumerate(runs)
    ]
    first, last = _time_labels([run["finished_at"] for run in runs])
    return TrendChart(
        width=width,
        height=height,
        plot_top=top,
        plot_bottom=bottom,
        plot_left=left,
        plot_right=right,
        gridlines=[(y_of(score), score) for score in (floor, (floor + 100) // 2, 100)],
        series=_trend_series(runs, current, x_of, y_of, (top, bottom)),
        runs=markers,
        band=round(min(step, 2 * inset), 1),
        first=first,
        last=last,
    )


def _time_labels(times: list[str]) -> tuple[str, str]:
    """The first and last of ``times`` as dates, or with the minute or the second where the
    coarser forms would read the same (two runs of one afternoon); as run numbers if even
    the seconds agree or a time is unreadable, so the axis never shows one label twice."""
    try:
        moments = [datetime.fromisoformat(times[0]), datetime.fromisoformat(times[-1])]
    except (TypeError, ValueError):
        moments = []
    utc = [moment.astimezone(UTC) if moment.tzinfo else moment for moment in moments]
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M UTC", "%Y-%m-%d %H:%M:%S UTC") if utc else ():
        first, last = (moment.strftime(pattern) for moment in utc)
        if first != last:
            return first, last
    return "run 1", f"run {len(times)}"


def _series_key(name: str, entry: dict[str, Any]) -> tuple[str, str]:
    """The line a history entry belongs to: its API and its target (a line written before lines
    carried a target is ``UNRECORDED``)."""
    return name, entry.get("target", UNRECORDED)


def _trend_series(
    runs: list[dict[str, Any]],
    current: list[tuple[str, str]],
    x_of: Callable[[int], float],
    y_of: Callable[[float], float],
    plot: tuple[float, float],
) -> list[TrendSeries]:
    """One line per API and target that ``runs`` scored, this run's first, each told apart by
    its place among them (colour, dash, marker, offset); the runs are at ``x_of`` their
    position, a score at ``y_of`` it, and the labels stay between the ``plot``'s top and bottom."""
    keys = list(
        dict.fromkeys([*current, *(_series_key(*item) for run in runs for item in run["apis"].items())])
    )
    lines = []
    for name, target in keys:
        points = [
            (x_of(position), y_of(entry["score"]), entry["score"])
            for position, run in enumerate(runs)
            if (entry := run["apis"].get(name)) is not None and _series_key(name, entry) == (name, target)
        ]
        if points:
            lines.append((name, target, points))
    gap = SPREAD / max(1, len(lines) - 1)
    offsets = [(index - (len(lines) - 1) / 2) * gap for index in range(len(lines))]
    ends = _spread(
        [points[-1][1] + offset for (*_, points), offset in zip(lines, offsets, strict=True)], plot
    )
    series = []
    for index, (name, target, points) in enumerate(lines):
        placed = [(x, round(y + offsets[index], 1)) for x, y, _ in points]
        shape = SERIES_MARKERS[index % len(SERIES_MARKERS)]
        series.append(
            TrendSeries(
                label=name if " @ " in name else f"{name} · {target}",  # a merged target names its URL
                name=name,
                colour=SERIES_COLOURS[index % len(SERIES_COLOURS)],
                dash=SERIES_DASHES[index % len(SERIES_DASHES)],
                points=" ".join(f"{x},{y}" for x, y in placed),
                markers="".join(f"M{x},{y}{shape}" for x, y in placed),
                last_x=placed[-1][0],
                last_y=placed[-1][1],
                last_score=points[-1][2],
                label_y=ends[index],
                legend_marker=f"M11,5{shape}",
            )
        )
    return series


def _spread(ys: list[float], plot: tuple[float, float]) -> list[float]:
    """Label heights near ``ys`` (in their order) at least ``LABEL_HEIGHT`` apart, top to bottom
    of the ``plot``: lines that end together get labels one under the other."""
    top, bottom = plot[0] + LABEL_HEIGHT / 2, plot[1] - LABEL_HEIGHT / 2
    order = sorted(range(len(ys)), key=lambda i: ys[i])
    placed, previous = {}, top - LABEL_HEIGHT
    for i in order:
        previous = placed[i] = max(ys[i], previous + LABEL_HEIGHT)
    ceiling = bottom
    for i in reversed(order):
        placed[i] = min(placed[i], ceiling)
        ceiling = placed[i] - LABEL_HEIGHT
    return [round(placed[i], 1) for i in range(len(ys))]
