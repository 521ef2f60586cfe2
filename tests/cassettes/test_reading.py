"""The streaming reader reads every cassette as vcrpy's own loader reads the whole file: the same
interactions, or the same one-line error, for the odd files a team's recordings may hold (a
directive, a second document, an end marker, CRLF, tabs, plain scalars YAML 1.1 reads as no text,
an alias to another entry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.cassettes.cassette import (
    CassetteError,
    interactions,
    parse_document,
    read_cassette,
    write_cassette,
)

from .conftest import ROOT


def base_text(tmp_path: Path) -> str:
    entries = yaml.safe_load((ROOT / "cassettes" / "mocks" / "kognitos.yaml").read_text())["interactions"][:6]
    path = tmp_path / "base.yaml"
    write_cassette(path, entries)
    return path.read_text()


def with_tab(text: str) -> str:
    body = text.index("      string: ")
    return text[:body] + "      string: '\tx'\n" + text[text.index("\n", body) + 1 :]


def with_alias(text: str) -> str:
    """The last entry's response an alias of the first entry's."""
    anchored = text.replace("  response:\n", "  response: &first\n", 1)
    last = anchored.rindex("\n- ")
    return anchored[:last] + (
        "\n- request:\n    body: null\n    headers: {}\n    method: GET\n    uri: http://127.0.0.1/v2/runs\n"
        "  response: *first\nversion: 1\n"
    )


VARIANTS = {
    "as written": lambda text: text,
    "an end marker after the entries": lambda text: text + "...\n",
    "a second document": lambda text: text + "---\ninteractions: []\n",
    "a directive first": lambda text: "%YAML 1.1\n---\n" + text,
    "CRLF line ends": lambda text: text.replace("\n", "\r\n"),
    "a tab in a value": with_tab,
    "a value YAML 1.1 reads as no text": lambda text: text.replace("method: GET", "method: yes", 1),
    "a date as a header value": lambda text: text.replace("- application/json", "- 2024-01-02", 1),
    "an alias to another entry": with_alias,
}


def as_read(read: Any) -> list[Any] | str:
    try:
        return [item if isinstance(item, str) else (item.method, item.uri, item.status, item.body,
                item.request_headers, item.response_headers) for item in read()]  # fmt: skip
    except CassetteError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("name", list(VARIANTS))
def test_the_streaming_reader_reads_as_vcrpys_loader(tmp_path: Path, name: str) -> None:
    path = tmp_path / "odd.yaml"
    path.write_bytes(VARIANTS[name](base_text(tmp_path)).encode())
    streamed = as_read(lambda: read_cassette(path))

    def whole() -> Any:
        document = parse_document(path)
        return interactions(path, document["interactions"] if isinstance(document, dict) else [])

    assert streamed == as_read(whole)
    assert streamed  # something was read, or an error said why not
