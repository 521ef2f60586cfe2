"""A replay's work shared out among the cores (``conformance/cassettes/parts.py``), in real forked
processes: a large cassette in parts, or small files each whole. results.json is the same whatever
the number of cores; the findings are those of judging a file whole; an entry that does not read
alone has the file read whole; a worker that fails is reported, and none outlives the replay."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cassettes import parts
from conformance.cassettes.cassette import write_cassette
from conformance.cassettes.replay import replay
from conformance.results.document import results_document

from .conftest import ROOT

#: Parts this small cut the test cassettes (a few hundred entries) into many.
SMALL_PART = 40
TIMING = {"started_at", "finished_at", "duration_s"}


def recorded_entries() -> list[dict[str, Any]]:
    """Every interaction of the committed mock recordings, in vcrpy's dict form."""
    entries: list[dict[str, Any]] = []
    for path in sorted((ROOT / "cassettes" / "mocks").glob("*.yaml")):
        entries += yaml.safe_load(path.read_text())["interactions"]
    return entries


def without_timing(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: without_timing(value) for key, value in node.items() if key not in TIMING}
    if isinstance(node, list):
        return [without_timing(value) for value in node]
    return node


def judged(
    path: Path, monkeypatch: pytest.MonkeyPatch, part: int, cores: int, small: int = 0
) -> dict[str, Any]:
    """results.json of a replay of ``path`` (a file, or a folder of them) cut in parts of ``part``
    entries, on ``cores`` processes, files of at most ``small`` bytes shared out whole."""
    monkeypatch.setattr(parts, "PART_ENTRIES", part)
    monkeypatch.setattr(parts, "SMALL_FILE_BYTES", small)
    monkeypatch.setattr(parts, "cores", lambda: cores)
    result, unattributed = replay([path])
    assert not unattributed
    document = without_timing(results_document(result))
    document["options"].pop("paths")
    return document


def findings(document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (f["api"], f["operation"], f["location"], f["kind"], f["count"]) for f in document["findings"]
    )


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mock recordings of all four APIs, with an entry the suite cannot judge in a late part."""
    entries = recorded_entries()
    broken = dict(entries[3], response={**entries[3]["response"], "status": {"code": 999}})
    path = tmp_path_factory.mktemp("parts") / "kognitos-night.yaml"  # its errors are kognitos'
    write_cassette(path, [*entries, broken, *entries])
    return path


def test_results_are_the_same_on_one_core_or_three(large: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = judged(large, monkeypatch, SMALL_PART, cores=1)
    three = judged(large, monkeypatch, SMALL_PART, cores=3)
    assert three == one
    assert "response.status.code 999 is not an HTTP status code" in str(three["errors"])


def test_parts_find_what_judging_the_file_whole_finds(large: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = judged(large, monkeypatch, 10**9, cores=1)
    in_parts = judged(large, monkeypatch, SMALL_PART, cores=2)
    assert findings(in_parts) == findings(whole) and findings(whole)
    assert in_parts["summary"] == whole["summary"] and in_parts["exit_code"] == whole["exit_code"]
    assert [api["cases"] for api in in_parts["apis"]] == [api["cases"] for api in whole["apis"]]
    assert in_parts["errors"] == whole["errors"]


def test_a_folder_of_small_files_shared_out_whole_reads_as_in_one_process(
    large: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files judged whole by three processes, one cut in parts by the process that judges it."""
    entries = recorded_entries()
    for night in range(5):
        write_cassette(tmp_path / f"kognitos-{night}.yaml", entries[night * 10 : night * 10 + 30])
    (tmp_path / "robocorp-broken.yaml").write_text("interactions: [\n")
    (tmp_path / "solvexia-large.yaml").write_bytes(large.read_bytes())
    one = judged(tmp_path, monkeypatch, SMALL_PART, cores=1, small=10**9)
    three = judged(tmp_path, monkeypatch, SMALL_PART, cores=3, small=10**9)
    assert three == one
    assert "robocorp-broken.yaml: invalid YAML" in str(one["errors"])
    assert one["summary"]["cases"] == 5 * 30 + 2 * len(entries)


def test_an_entry_that_does_not_read_alone_has_the_file_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alias to another entry's anchor, in a late part: vcrpy's loader reads the whole file."""
    entries = recorded_entries()[:120]
    path = tmp_path / "aliased.yaml"
    write_cassette(path, entries)
    text = path.read_text()
    anchored = text.replace("  response:\n", "  response: &first\n", 1)
    last = anchored.rindex("\n- request:")
    tail = anchored[last:]
    response_start = tail.index("\n  response:")
    tail = tail[:response_start] + "\n  response: *first\n"
    path.write_text(anchored[:last] + tail + "version: 1\n")
    whole = judged(path, monkeypatch, 10**9, cores=1)
    in_parts = judged(path, monkeypatch, SMALL_PART, cores=2)
    assert in_parts == whole and whole["summary"]["cases"] == len(entries)


def fail_in_a_child(item: int) -> int:
    if item and os.getpid() != PARENT:
        raise ValueError(f"part {item} is broken")
    return item


PARENT = os.getpid()


def test_a_worker_that_fails_is_reported_and_none_outlives_the_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parts, "cores", lambda: 2)
    assert parts.forked_map(lambda item: item * 2, [1, 2, 3, 4]) == [2, 4, 6, 8]
    with pytest.raises(parts.WorkerFailed, match="ValueError: part 2 is broken"):
        parts.forked_map(fail_in_a_child, [0, 1, 2, 3])
    assert not [
        child for child in os.listdir("/proc") if child.isdigit() and _parent_of(child) == os.getpid()
    ]


def _parent_of(pid: str) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_parts_are_contiguous_and_shares_even() -> None:
    items = list(range(10))
    assert parts.cut(items, 4) == [(0, [0, 1, 2, 3]), (4, [4, 5, 6, 7]), (8, [8, 9])]
    assert [len(share) for share in parts.shares(items, 3)] == [3, 3, 4]
    assert [item for share in parts.shares(items, 3) for item in share] == items


def test_where_fork_is_not_how_processes_start_everything_is_judged_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import multiprocessing

    monkeypatch.setattr(parts.sys, "platform", "darwin")
    monkeypatch.setattr(multiprocessing, "get_context", lambda *_: pytest.fail("no process may be started"))
    assert parts.forked_map(lambda item: item + 1, [1, 2, 3]) == [2, 3, 4]
