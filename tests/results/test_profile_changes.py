"""Night to night, what a vendor changed within what its documents allow: over real loopback HTTP, a
Kognitos server that on its second night re-cases its run states, drops an optional member from a
third of its answers, answers a new status and is three times slower is reported by ``compare`` and
the report at each operation and place, as class ``changed`` (exit 1 only with ``--fail-on
changed``); the same server on two nights with other seeds shows no change."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from conformance.mocks import MockServer, create_mock
from conformance.mocks.drift import Drift, DriftMiddleware, set_status, set_value

from ..inprocess import InProcess

TOKEN = "profile-night-token-7c2e"
GET_RUN = r"/v2/runs/[^/]+$"
LIST_RUNS = r"/v2/runs$"
BUDGET = ["--phases", "examples,coverage,stateful", "--max-examples", "12", "--poll-interval", "0.05"]


class Slow:
    """Answers ``GET /runs/{run_id}`` after ``delay`` seconds: a server that got slower."""

    def __init__(self, app: ASGIApp, delay: float) -> None:
        self.app, self.delay = app, delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and re.search(GET_RUN, scope["path"]):
            await asyncio.sleep(self.delay)
        await self.app(scope, receive, send)


def every(nth: int, mutation: Any) -> Any:
    """``mutation`` applied to every ``nth`` answer only."""
    counter = itertools.count(1)
    return lambda status, body: mutation(status, body) if next(counter) % nth == 0 else (status, body)


def drop_file_ids(status: int, body: Any) -> tuple[int, Any]:
    body.pop("file_ids", None)
    return status, body


#: The second night: ``COMPLETED`` for ``Completed``, ``file_ids`` missing from a third of the
#: runs read, every third list answered 409, and every read three times slower.
NIGHT_TWO = [
    Drift("GET", GET_RUN, set_value("/status", str.upper)),
    Drift("GET", GET_RUN, every(3, drop_file_ids)),
    Drift("GET", LIST_RUNS, every(3, set_status(409))),
]


@contextmanager
def kognitos(drifts: list[Drift], delay: float) -> Iterator[str]:
    mock = create_mock("kognitos", "faithful", TOKEN)
    with MockServer(Slow(DriftMiddleware(mock.app(), drifts), delay), mock.spec.base_path) as server:
        yield server.base_url


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


def night(cli: InProcess, directory: Path, seed: int, drifts: list[Drift], delay: float) -> Path:
    with kognitos(drifts, delay) as base_url:
        ran = cli(
            "run", "kognitos", "--base-url", base_url, "--token", TOKEN, "--seed", str(seed), *BUDGET,
            "--report-dir", str(directory),
        )  # fmt: skip
    assert ran.returncode in (0, 1), ran.stdout + ran.stderr
    return directory / "results.json"


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three nights of one server: a clean one, the same with another seed, and the changed one."""
    with pytest.MonkeyPatch.context() as patch:
        capture = _Capture()
        cli = InProcess(patch, capture)  # type: ignore[arg-type]
        root = tmp_path_factory.mktemp("nights")
        return {
            "one": night(cli, root / "one", 1, [], 0.05),
            "again": night(cli, root / "again", 2, [], 0.05),
            "two": night(cli, root / "two", 3, NIGHT_TWO, 0.15),
        }


class _Capture:
    """``capsys`` for a module-scoped fixture: the command's output is not needed there."""

    def readouterr(self) -> tuple[str, str]:
        return "", ""


def changes(cli: InProcess, old: Path, new: Path, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    compared = cli("compare", str(old), str(new), "--json", *extra)
    return compared.returncode, json.loads(compared.stdout)["changes"]


def test_the_profile_of_a_night_is_kept_per_operation_and_place(nights: dict[str, Path]) -> None:
    document = json.loads(nights["one"].read_text())
    profile = {op["operation"]: op["profile"] for op in document["apis"][0]["operations"]}
    get_run = profile["getRun"]
    assert get_run["latency"]["p50_ms"] >= 50 and get_run["statuses"]["200"] >= 20
    status = get_run["bodies"]["200"]["/status"]
    assert (
        set(status["values"]) <= {"Created", "Running", "Completed", "Failed"}
        and "Completed" in status["values"]
    )
    assert status["shapes"] == {"word": status["seen"]}
    identity = get_run["bodies"]["200"]["/id"]
    assert "values" not in identity and set(identity.get("shapes", {})) <= {"token"}  # ids left out
    assert identity.get("echoed")  # the run ids the client asked for: echoes, not the vendor's values
    assert TOKEN not in nights["one"].read_text()


def test_compare_shows_each_change_at_its_operation_and_place(
    cli: InProcess, nights: dict[str, Path]
) -> None:
    code, found = changes(cli, nights["one"], nights["two"])
    assert code == 0
    seen = {(c["change"], c["operation"], c["status"], c["location"]) for c in found}
    assert ("new-value", "getRun", "200", "/status") in seen
    recased = next(c for c in found if c["change"] == "new-value" and c["new"] == "COMPLETED")
    assert recased["old"] == "Completed" and "only by case" in recased["message"]
    assert ("vanished-value", "getRun", "200", "/status") in seen
    assert ("presence-fell", "getRun", "200", "/file_ids") in seen
    assert ("new-status", "listRuns", "409", None) in seen
    assert ("slower", "getRun", None, None) in seen
    assert {c["aspect"] for c in found} == {"values", "presence", "statuses", "latency"}
    assert not any(c["operation"] == "startRun" for c in found)
    printed = cli("compare", str(nights["one"]), str(nights["two"]))
    assert "changed (presence): kognitos getRun 200 /file_ids: present in" in printed.stdout


def test_fail_on_changed_fails_the_night_and_a_narrower_word_only_its_aspect(
    cli: InProcess, nights: dict[str, Path]
) -> None:
    assert changes(cli, nights["one"], nights["two"], "--fail-on", "changed")[0] == 1
    code, found = changes(cli, nights["one"], nights["two"], "--fail-on", "changed:latency")
    assert code == 1 and {c["aspect"] for c in found if c["fails"]} == {"latency"}
    assert changes(cli, nights["one"], nights["again"], "--fail-on", "changed")[0] == 0


def test_the_same_server_with_another_seed_shows_no_change(cli: InProcess, nights: dict[str, Path]) -> None:
    assert changes(cli, nights["one"], nights["again"]) == (0, [])


def test_thresholds_come_from_the_config_file(
    cli: InProcess, nights: dict[str, Path], tmp_path: Path
) -> None:
    (tmp_path / "conformance.toml").write_text("[profile]\nlatency-factor = 10\npresence-drop = 0.5\n")
    _, found = changes(cli, nights["one"], nights["two"], "--config", str(tmp_path / "conformance.toml"))
    assert {c["aspect"] for c in found} == {"values", "statuses"}
    (tmp_path / "bad.toml").write_text("[profile]\nlatency-factr = 10\n")
    refused = cli("compare", str(nights["one"]), str(nights["two"]), "--config", str(tmp_path / "bad.toml"))
    assert refused.returncode == 2 and "unknown setting 'latency-factr' in [profile]" in refused.stderr


def test_the_report_shows_the_changes_at_the_top_and_the_profile_per_operation(
    cli: InProcess, nights: dict[str, Path], tmp_path: Path
) -> None:
    rendered = cli("report", str(nights["two"]), "--baseline", str(nights["one"]), "--out", str(tmp_path))
    assert rendered.returncode == 0, rendered.stderr
    page = (tmp_path / "index.html").read_text()
    since = page.index('id="since"')
    assert since < page.index(
        'data-since-behaviour="presence" data-operation="getRun" data-location="/file_ids"'
    )
    assert page.index('data-since-behaviour="latency" data-operation="getRun"') < page.index('id="findings"')
    assert 'data-since-behaviour="statuses" data-operation="listRuns"' in page
    assert 'data-profile="kognitos getRun"' in page and 'data-place="200 /status"' in page
    assert "COMPLETED" in page


def test_a_profile_is_bounded_whatever_the_server_sends_and_redacted() -> None:
    """Thousands of invented members, megabyte names and values, deep nesting, a long array, every
    status and a secret in a credential-named member: the stored profile stays small."""
    from conformance.redact import Redactor
    from conformance.results.profile import MAX_LOCATIONS, Profile

    profile, redactor = Profile(), Redactor([TOKEN])
    deep: Any = "bottom"
    for _ in range(60):
        deep = {"down": deep}
    for index in range(300):
        body = {
            **{f"member{index}-{n}": n for n in range(50)},
            "x" * 1_000_000: "y" * 1_000_000,
            "items": [{"state": f"State{n % 40}"} for n in range(1_000)],
            "api_key": "sk-live-abc",
            "echo": TOKEN,
            "deep": deep,
        }
        profile.observe("getRun", 100 + index, body, 0.001 * index)
    stored = json.dumps(profile.frozen(redactor.text, redactor.is_secret_key))
    assert len(stored) < 200_000 and TOKEN not in stored and "sk-live-abc" not in stored
    bodies = profile.frozen(redactor.text, redactor.is_secret_key)["getRun"]["bodies"]
    assert sum(len(places) for places in bodies.values()) == MAX_LOCATIONS
    assert sum(profile.operations["getRun"].statuses.values()) == 300


def test_a_body_seen_again_is_profiled_from_its_steps_exactly_as_walked_afresh() -> None:
    """Repeated bodies (given with their digest) are walked again from the steps kept on their second
    time: the profile equals the one of every body walked in full, with strings that become echoes
    between sightings, places left out once the operation has no room, and a body deeper than read."""
    from conformance.redact import Redactor
    from conformance.results.profile import MAX_DEPTH, MAX_LOCATIONS, Profile

    deep: Any = "bottom"
    for _ in range(MAX_DEPTH + 3):
        deep = {"down": deep, "at": "level"}
    bodies = [
        {"id": "run-1", "status": "Completed", "files": [{"id": "f1"}, {"id": "f2"}], "deep": deep},
        {"id": "run-2", "status": "Failed", "error": None, "took": 1.5, "ok": False},
        {f"member{n}": n for n in range(MAX_LOCATIONS + 5)},  # past the room: left out, every time
        [{"id": "run-1"}, "loose", 3],
    ]
    walked, stepped = Profile(), Profile()
    for night in range(6):
        for index, body in enumerate(bodies):
            request = {"run_id": "run-1"} if night >= 3 else None  # from the fourth night: an echo
            for profile, digest in ((walked, None), (stepped, bytes([index]))):
                profile.observe("getRun", 200 + index % 2, body, None, request, digest)
    assert stepped.operations["getRun"]._walks  # the steps were taken, not the walk
    redactor = Redactor()
    frozen = walked.frozen(redactor.text, redactor.is_secret_key)
    assert stepped.frozen(redactor.text, redactor.is_secret_key) == frozen
    assert frozen["getRun"]["left_out"] > 0
    assert frozen["getRun"]["bodies"]["200"]["/id"]["echoed"] == {"run-1": 3}


def test_an_id_of_letters_alone_among_ids_of_letters_and_digits_is_no_new_shape() -> None:
    """A base-36 id without a digit (one in 3,400), listed on every page read, is still an id; a
    new enum-like word at that place, or a new shape of another kind, is still a change."""
    from conformance.redact import Redactor
    from conformance.results.changes import Thresholds, operation_changes
    from conformance.results.profile import Profile

    def night(ids: list[str]) -> dict[str, Any]:
        profile = Profile()
        for page in range(40):
            profile.observe("listRuns", 200, {"items": [{"id": run_id} for run_id in ids]}, 0.01 * page)
        redactor = Redactor()
        return profile.frozen(redactor.text, redactor.is_secret_key)["listRuns"]

    ids = [f"b4fznghynbdemslfd5k0{n:02d}fgd" for n in range(12)]
    before = night(ids)

    def found(tonight: list[str]) -> set[tuple[str, str]]:
        return {
            (c.change, str(c.new))
            for c in operation_changes("kognitos", "listRuns", before, night(tonight), Thresholds())
        }

    assert found([*ids[:11], "qwhzkxbvmtrpldnsgjcfyawze"]) == set()  # letters alone, by chance
    assert ("new-value", "pending") in found([*ids[:11], "pending"])
    assert ("new-shape", "rfc3339") in found([*ids[:11], "2026-12-07T09:00:00Z"])
