"""Where ``run`` keeps hypothesis's data: the user's cache, never the working folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.usercache import HYPOTHESIS_STORAGE, keep_hypothesis_data


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
