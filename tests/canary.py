"""Canary credentials: distinct, greppable values planted where credentials travel, then looked
for in everything the suite wrote or printed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path


def leaks(canaries: Mapping[str, str], directories: Iterable[Path], outputs: Mapping[str, str]) -> list[str]:
    """Where each canary turned up, as ``"<place> in <file or output>"``; empty when nothing leaked.

    Every file under ``directories`` is read (as text, undecodable bytes replaced) and its path
    searched too; ``outputs`` maps a label (the command) to what it printed.
    """
    written = {
        str(path): f"{path}\n{path.read_text(errors='replace')}"
        for directory in directories
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }
    return [
        f"{place} in {where}"
        for place, canary in canaries.items()
        for where, text in {**written, **outputs}.items()
        if canary in text
    ]
