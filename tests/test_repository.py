"""The repository stands alone: no tracked file names a path outside it.

A vendor document is cited by its public URL and section (the catalogue's ``documents``), and
whatever a command needs ships in the repository or the wheel, so no file may point at a
developer's machine or at the folders the vendor pages were once read from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What names a place outside the repository.
OUTSIDE = ("/work/", "../shared", "seeds/", "vendor-notes/", "vendor-docs/")
#: Deliberate uses, each a tracked file and what the one line that may hold one contains: bad input
#: a test rejects, or text a test asserts is absent.
ALLOWED = {
    "tests/contract/test_catalogue.py": ('"url": "../shared/seeds/x.md"}}, "documents/runs/url"',),
    "tests/results/test_report.py": ('assert "seeds/" not in html and "vendor-notes/" not in html',),
}
#: This file spells out what it looks for.
SELF = Path(__file__).resolve().relative_to(ROOT).as_posix()


def tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
    ).stdout
    return [name for name in listed.split("\0") if name]


def text_of(path: Path) -> str | None:
    """A symlink's target, a text file's content; ``None`` for a binary file."""
    if path.is_symlink():
        return os.readlink(path)
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def outside_references(name: str, text: str) -> list[str]:
    allowed = ALLOWED.get(name, ())
    return [
        f"{name}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if any(pattern in line for pattern in OUTSIDE) and not any(fragment in line for fragment in allowed)
    ]


def test_no_tracked_file_names_a_path_outside_the_repository() -> None:
    found = []
    for name in tracked():
        path = ROOT / name
        if name == SELF or not (path.exists() or path.is_symlink()):
            continue  # deleted in the working tree
        text = text_of(path)
        if text is not None:
            found += outside_references(name, text)
    assert not found, "paths outside the repository:\n" + "\n".join(found)


def test_every_allowed_line_is_still_there() -> None:
    """Each allowed fragment is on exactly one line; when that line goes, so does its entry."""
    for name, fragments in ALLOWED.items():
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        for fragment in fragments:
            assert sum(fragment in line for line in lines) == 1, (name, fragment)


@pytest.mark.parametrize(
    "line",
    [
        "python -m conformance.cassettes.documented /work/shared/seeds cassettes/documented",
        "Citations name files under `../shared`",
        'X-Conformance-Source: "seeds/kognitos-runs-v2.txt § Get Run"',
        "the facts of vendor-notes/robocorp.md",
        "(vendor-docs/robocorp-control-room-openapi.json)",
    ],
)
def test_the_scan_finds_each_kind_of_outside_path(line: str) -> None:
    assert outside_references("README.md", f"intro\n{line}\n") == [f"README.md:2: {line}"]
