"""The report as a person sees it: opened from disk in headless Chromium, driven over DevTools.

Checks what only a browser can: the page runs without console errors, loads nothing but
itself, the filters change what is shown, and a ``<script>`` a server planted in a finding
is shown as text and never runs; and that at phone width (390 px) nothing scrolls sideways, the
findings being cards there. It takes the README's screenshots at both widths; ``make screenshots``
(``CONFORMANCE_SCREENSHOTS=docs``) keeps them as ``docs/report-desktop.png`` and
``docs/report-phone.png``, any other run in its temporary folder, so a test run changes no tracked file.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.kinds import kind_of
from conformance.results.history import HISTORY_FILE, summary_line
from conformance.results.publish import write_report

from .test_convention import convention_document
from .test_report import PLANTED, _finding, report_document

pytestmark = pytest.mark.browser

#: Where the screenshots are kept, when they are to be kept (``make screenshots``).
SCREENSHOTS_ENV = "CONFORMANCE_SCREENSHOTS"
DESKTOP, PHONE = (1280, 1700), (390, 1400)
#: Debian names the binary ``chromium``; the others are what developers' machines often have.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Root in a CI container cannot use Chromium's sandbox; the page is our own file, so that is safe.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)
TIMEOUT_S = 30.0


class DevTools:
    """A minimal Chrome DevTools Protocol client: numbered calls, events kept for later."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None
        self._last_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        while True:
            reply = self._receive()
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise AssertionError(f"{method} failed: {reply['error']}")
                return reply.get("result", {})

    def wait_for(self, method: str) -> dict[str, Any]:
        while True:
            for event in self.events:
                if event.get("method") == method:
                    self.events.remove(event)
                    return event["params"]
            self._receive()

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click at the element's centre, as a person would make it."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def choose(self, filter_name: str, value: str) -> None:
        """Pick an option in a filter the way the browser reports it: a value and a change event."""
        self.evaluate(
            f"(() => {{ const s = document.querySelector('[data-filter={filter_name}]');"
            f" s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change', {{bubbles: true}})); }})()"
        )

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser-logged errors (CSP violations among them)."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(
                    " ".join(str(arg.get("value", arg.get("description"))) for arg in params["args"])
                )
            elif method == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"]["text"])
        return found

    def requested_urls(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def _receive(self) -> dict[str, Any]:
        message = json.loads(self.socket.recv(timeout=TIMEOUT_S))
        if "method" in message:
            self.events.append(message)
        return message


def _chromium() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    binary = _chromium()
    if binary is None:
        pytest.skip(
            "no Chromium binary on PATH (looked for: " + ", ".join(BROWSERS) + "); "
            "`apt-get install chromium` — .ci/run installs it in CI"
        )
    profile = tmp_path / "profile"
    log = (tmp_path / "chromium.log").open("w")
    process = subprocess.Popen(
        [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        # Chromium announces its DevTools port in this file once it listens.
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + TIMEOUT_S
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"Chromium did not start: {(tmp_path / 'chromium.log').read_text()}")
            time.sleep(0.1)
        port, path = port_file.read_text().splitlines()[:2]
        with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=TIMEOUT_S) as socket:
            devtools = DevTools(socket)
            target = devtools.call("Target.createTarget", url="about:blank")["targetId"]
            devtools.session = devtools.call("Target.attachToTarget", targetId=target, flatten=True)[
                "sessionId"
            ]
            for domain in ("Runtime", "Log", "Page", "Network"):
                devtools.call(f"{domain}.enable")
            devtools.call(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=1000,
                deviceScaleFactor=1,
                mobile=False,
            )
            yield devtools
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _seed_history(directory: Path, runs: int) -> None:
    """Earlier nights for the trend: robocorp slipping a little, then today's drift."""
    lines = []
    for night in range(runs):
        earlier = report_document()
        earlier["finished_at"] = f"2026-11-{10 + night:02d}T02:03:12+00:00"
        earlier["exit_code"] = 0
        for api in earlier["apis"]:
            api["new"] = 0
            api["score"] = min(100.0, api["score"] + (runs - night) * 0.6)
        lines.append(json.dumps(summary_line(earlier)))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / HISTORY_FILE).write_text("\n".join(lines) + "\n")


def _sample_document() -> dict[str, Any]:
    """The sample run, with automation_runs meeting a catalogued quirk: the longest API name then
    carries the widest badge ("no breaking drift"), which once spilled out of its card."""
    document = report_document()
    quirk = load_catalogue("automation_runs").by_id["AR-004"]
    document["findings"].append(
        _finding(
            "automation_runs",
            "getRun",
            "known",
            kind=quirk.kind,
            location="/status",
            quirk=quirk.id,
            doc=quirk.citation,
            quirk_summary=quirk.summary,
            citations=[citation.to_dict() for citation in quirk.citations],
            message="status 'running' is outside the documented set",
        )
    )
    automation_runs = document["apis"][3]
    automation_runs["known"] = automation_runs["operations"][1]["known"] = 1
    document["summary"]["known"] += 1
    return _with_every_class(document)


def _with_every_class(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with a solvexia convention and assumption as ``classify`` records them, so the
    findings show every class and every way a finding cites its source."""
    convention = kind_of("unsupported_method")
    assert convention.reference
    title, section, url = convention.reference
    reason = next(iter(load_spec("solvexia").assumptions()))
    document["findings"] += [
        _finding(
            "solvexia",
            "getProcessRun",
            "convention",
            kind=convention.name,
            status_code=200,
            location="status",
            assumption=convention.rests_on,
            citations=[{"title": title, "url": url, "section": section}],
            message="TRACE was answered 200",
        ),
        _finding("solvexia", "getProcessRun", "assumption", assumption=reason, message="assumed"),
    ]
    solvexia = document["apis"][0]
    solvexia["convention"] = solvexia["assumption"] = 1
    document["summary"]["convention"] = document["summary"]["assumption"] = 1
    return document


#: Findings that link no source: no vendor's page, public text or line of the spec.
UNSOURCED = """Array.from(document.querySelectorAll('[data-finding]'))
  .filter(e => !e.querySelector('[data-rests-on] a[href]')).map(e => e.dataset.classification)"""


#: Per card, the badges whose box is not inside the card's, and how many percentages it shows.
CARDS = """Object.fromEntries(Array.from(document.querySelectorAll('[data-scorecard]')).map(card => {
  const box = card.getBoundingClientRect();
  const spilled = Array.from(card.querySelectorAll('.pill')).filter(pill => {
    const r = pill.getBoundingClientRect();
    return r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom;
  });
  return [card.dataset.scorecard, [spilled.length, (card.innerText.match(/\\d%/g) || []).length]];
}))"""


def _assert_cards_hold_their_badge_and_one_headline(browser: DevTools) -> None:
    cards = browser.evaluate(CARDS)
    assert set(cards) == {"solvexia", "robocorp", "kognitos", "automation_runs"}
    assert cards == {api: [0, 1] for api in cards}, "[badges outside the card, percentages] per card"


#: The trend as drawn: each series' look, the marks outside the plot area, the labels that overlap
#: or leave the chart, and the axis labels.
TREND = """(() => {
  const chart = document.querySelector('[data-trend] svg');
  const plot = chart.querySelector('[data-plot]').getBoundingClientRect();
  const all = selector => Array.from(chart.querySelectorAll(selector));
  const within = (e, box) => { const r = e.getBoundingClientRect();
    return r.left >= box.left - 0.5 && r.right <= box.right + 0.5
      && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5; };
  const labels = all('[data-label]').map(e => e.getBoundingClientRect()).sort((a, b) => a.top - b.top);
  return {
    looks: all('[data-series]').map(g => [g.getAttribute('stroke'),
      g.querySelector('.chart__line').getAttribute('stroke-dasharray'),
      g.querySelector('[data-markers]').getAttribute('d').match(/m[^M]*/)[0]].join(' | ')),
    outside: all('[data-markers], [data-run]').filter(e => !within(e, plot)).length,
    overlapping: labels.filter((box, i) => i && box.top < labels[i - 1].bottom - 0.5).length,
    escaping: all('text').filter(e => !within(e, chart.getBoundingClientRect())).length,
    axis: all('[data-axis]').map(e => e.textContent),
  };
})()"""


def _assert_trend_tells_its_series_apart(browser: DevTools) -> None:
    trend = browser.evaluate(TREND)
    assert len(trend["looks"]) == len(set(trend["looks"])) == 4, "colour, dash and marker per series"
    assert trend["outside"] == 0, "a marker or a run's shading outside the plot area"
    assert trend["overlapping"] == 0, "the lines' end labels overlap"
    assert trend["escaping"] == 0, "a label leaves the chart"
    assert len(trend["axis"]) == len(set(trend["axis"])) == 5, trend["axis"]


VISIBLE_FINDINGS = (
    "Array.from(document.querySelectorAll('[data-finding]')).filter(e => e.getClientRects().length).length"
)


def test_report_in_a_real_browser(browser: DevTools, tmp_path: Path) -> None:
    report_dir = tmp_path / "report"
    _seed_history(report_dir, 8)
    document = _sample_document()
    page = write_report(document, report_dir)

    browser.call("Page.navigate", url=page.as_uri())
    browser.wait_for("Page.loadEventFired")

    _assert_cards_hold_their_badge_and_one_headline(browser)
    _assert_trend_tells_its_series_apart(browser)

    assert browser.evaluate("typeof window.__pwned") == "undefined", "the planted script ran"
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    assert PLANTED in browser.evaluate("document.body.innerText"), "the planted markup is shown as text"
    assert browser.evaluate("document.querySelector('[data-verdict]').dataset.verdict") == "drift"
    assert browser.evaluate("document.querySelectorAll('[data-trend] [data-series]').length") == 4

    everything = len(document["findings"])
    assert {f["classification"] for f in document["findings"]} == {"new", "known", "assumption", "convention"}
    assert browser.evaluate(UNSOURCED) == []
    assert browser.evaluate(VISIBLE_FINDINGS) == everything
    browser.choose("classification", "new")
    assert browser.evaluate(VISIBLE_FINDINGS) == 3
    assert browser.evaluate("location.hash") == "#classification=new"
    browser.choose("classification", "")
    browser.click("[data-show-api=kognitos]")
    assert browser.evaluate(VISIBLE_FINDINGS) == 3
    assert browser.evaluate("document.querySelector('[data-filter=api]').value") == "kognitos"
    assert (
        browser.evaluate("document.querySelector('[data-visible-count]').textContent")
        == f"3 of {everything} findings"
    )
    browser.choose("kind", "field-name-alias")
    assert browser.evaluate(VISIBLE_FINDINGS) == 0
    assert browser.evaluate("document.querySelector('[data-empty]').hidden") is False
    browser.click("button[type=reset]")
    browser.evaluate("new Promise(done => setTimeout(done, 50))")
    assert browser.evaluate(VISIBLE_FINDINGS) == everything

    assert browser.errors() == []
    assert [url for url in browser.requested_urls() if not url.startswith(("file:", "data:"))] == []

    _screenshot(browser, _kept(tmp_path) / "report-desktop.png", *DESKTOP)


def test_conventions_have_their_own_filter_and_colour_in_a_real_browser(
    browser: DevTools, tmp_path: Path
) -> None:
    page = write_report(convention_document(), tmp_path / "report")
    browser.call("Page.navigate", url=page.as_uri())
    browser.wait_for("Page.loadEventFired")

    browser.choose("classification", "convention")
    assert browser.evaluate(VISIBLE_FINDINGS) == 1
    shown = "Array.from(document.querySelectorAll('[data-finding]')).find(e => e.getClientRects().length)"
    assert browser.evaluate(f"{shown}.querySelector('.pill').textContent") == "convention"
    fill = "getComputedStyle(document.querySelector('[data-score-bar] .outcome--{}')).fill"
    assert browser.evaluate(fill.format("convention")) not in (
        browser.evaluate(fill.format(outcome)) for outcome in ("assumption", "conforming")
    )
    assert browser.errors() == []


#: Elements whose box reaches past the viewport's right edge, as short selectors.
OVERFLOWING = """Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getClientRects().length && e.getBoundingClientRect().right > innerWidth + 0.5)
  .slice(0, 5)
  .map(e => e.tagName.toLowerCase() + (e.className ? '.' + String(e.className).split(' ')[0] : ''))"""


def test_report_at_phone_width_has_no_sideways_overflow(browser: DevTools, tmp_path: Path) -> None:
    report_dir = tmp_path / "report"
    _seed_history(report_dir, 8)
    page = write_report(_sample_document(), report_dir)
    width = PHONE[0]
    browser.call(
        "Emulation.setDeviceMetricsOverride", width=width, height=844, deviceScaleFactor=1, mobile=True
    )
    browser.call("Page.navigate", url=page.as_uri())
    browser.wait_for("Page.loadEventFired")

    assert browser.evaluate("innerWidth") == width
    assert browser.evaluate(UNSOURCED) == []
    _assert_cards_hold_their_badge_and_one_headline(browser)
    _assert_trend_tells_its_series_apart(browser)
    assert browser.evaluate("getComputedStyle(document.querySelector('.findings thead')).display") == "none"
    assert browser.evaluate("getComputedStyle(document.querySelector('[data-finding]')).display") == "block"
    browser.choose("classification", "new")
    assert browser.evaluate(VISIBLE_FINDINGS) == 3, "a filtered-out card is hidden at phone width too"
    browser.choose("classification", "")
    browser.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
    assert browser.evaluate(OVERFLOWING) == []
    assert browser.evaluate("document.documentElement.scrollWidth") <= width
    assert browser.errors() == []
    browser.evaluate("document.querySelectorAll('details').forEach(d => { d.open = false; })")
    findings = browser.evaluate("document.getElementById('findings').getBoundingClientRect().top + scrollY")
    _screenshot(browser, _kept(tmp_path) / "report-phone.png", *PHONE, top=findings - 8)


def _kept(tmp_path: Path) -> Path:
    return Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)


def _screenshot(browser: DevTools, path: Path, width: int, height: int, top: float = 0) -> None:
    """The page from ``top``, ``width`` wide and at most ``height`` tall, saved as PNG at ``path``."""
    browser.evaluate("window.scrollTo(0, 0)")
    height = min(height, browser.evaluate("document.documentElement.scrollHeight") - top)
    shot = browser.call(
        "Page.captureScreenshot",
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": top, "width": width, "height": height, "scale": 1},
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.stat().st_size > 10_000
