"""Where ``run`` keeps hypothesis's data: the user's cache, never the working folder; and what
another tool keeps in the working folder, ``run`` neither reads nor changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from schemathesis.core.cache import io as schemathesis_cache

from conformance.usercache import HYPOTHESIS_STORAGE, keep_hypothesis_data

from .inprocess import InProcess


def test_hypothesis_data_goes_to_the_users_cache_unless_the_user_chose_a_place(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(HYPOTHESIS_STORAGE, raising=False)
    keep_hypothesis_data()
    assert os.environ[HYPOTHESIS_STORAGE] == str(tmp_path / "cache" / "conformance" / "hypothesis")

    monkeypatch.setenv(HYPOTHESIS_STORAGE, str(tmp_path / "chosen"))
    keep_hypothesis_data()
    assert os.environ[HYPOTHESIS_STORAGE] == str(tmp_path / "chosen")

    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # no cache can be made under a file
    monkeypatch.delenv(HYPOTHESIS_STORAGE)
    keep_hypothesis_data()
    assert HYPOTHESIS_STORAGE not in os.environ  # hypothesis's own default then


def test_a_fuzzing_run_from_a_new_folder_leaves_nothing_in_it(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != HYPOTHESIS_STORAGE}
    environment["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    folder = tmp_path / "nightly"
    folder.mkdir()
    budget = ["--phases", "fuzzing", "--max-examples", "1", "--seed", "1", "--report-dir", "report"]
    ran = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "kognitos", *budget],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["report"]
    assert (tmp_path / "cache" / "conformance" / "hypothesis" / "unicode_data").is_dir()


def test_a_run_neither_replays_nor_rewrites_the_cache_st_run_left_in_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``st run`` keeps a cache in ``.schemathesis/`` of the working folder and replays it into
    the next run there: a night from that folder followed it, and counted itself into it."""
    cache = tmp_path / ".schemathesis" / "default" / "cache"
    cache.mkdir(parents=True)
    manifest = {
        "format_version": 1,
        "schemathesis_version": version("schemathesis"),
        "schema_location": "",
        "base_url": "http://127.0.0.1:9/v2",
        "created_at": "2026-12-06T19:29:48.924382+00:00",
        "next_run_id": 1,
        "auth_identities": {},
    }
    (cache / "manifest.json").write_text(json.dumps(manifest))
    (cache / "entries.jsonl").write_text("")
    assert schemathesis_cache.load(cache) is not None  # a cache schemathesis itself would read
    left = {path.name: path.read_bytes() for path in cache.iterdir()}

    budget = ["--phases", "examples", "--max-examples", "1", "--seed", "1", "--report-dir", "report"]
    done = InProcess(monkeypatch, capsys)("run", "kognitos", *budget, cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert {path.name: path.read_bytes() for path in cache.iterdir()} == left
