"""Documented cassettes: every request/response example of the vendors' pages as an interaction.

Replaying them asks "do the vendors' own examples obey the contract, except where the
catalogue says they don't?", so every catalogued example quirk must show up as a known
finding and nothing may be new. Each interaction cites the public page and section it comes
from (``<url> § <section>``, the URL from the catalogue's ``documents``) in the request
header ``X-Conformance-Source`` (vcrpy keeps request headers, and replayed findings then
carry the citation in their reproducing request).

The builder reads the pages from a folder holding them saved as Markdown or text, under the
file names of ``PAGES``; the pages themselves are the vendors' and are not redistributed.

URIs are rebased onto the contract's server: the documents' hosts are placeholders
(``https://loading``, AR-001) or malformed (``https:/app.solvexia.com``, SX-014), which
the catalogue records. Credentials in the examples pass the project ``Redactor``.

Rebuild with ``python -m conformance.cassettes.documented PAGES_DIR [OUT_DIR]``.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.cassettes.cassette import SOURCE_HEADER, write_cassette
from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.redact import Redactor
from conformance.vendors.registry import APIS, load_object

JSON_HEADERS = {"Content-Type": "application/json"}
#: Separator of section paths in citations, as in the catalogue.
NEXT = " \u203a "
#: The saved pages the builder reads (file name in its folder) and the catalogue document each one
#: is: ``(api, key)`` of ``documents`` in ``specs/quirks/<api>.yaml``, whose URL the citation names.
PAGES = {
    "solvexia-process-runs.md": ("solvexia", "process-runs"),
    "solvexia-schemas/authentication-oauth2.0.md": ("solvexia", "oauth"),
    "solvexia-schemas/response_codes.md": ("solvexia", "response-codes"),
    "automation-runs-api.txt": ("automation_runs", "automation-runs"),
    "kognitos-runs-v2.txt": ("kognitos", "runs"),
}


def cite(page: str, section: str) -> str:
    """``<public URL> § <section>`` of a saved page, the URL from the catalogue's ``documents``."""
    api, key = PAGES[page]
    return f"{load_catalogue(api).documents[key].url} § {section}"


@dataclass
class Example:
    """One documented exchange, before it becomes a vcrpy interaction."""

    api: str
    source: str
    method: str
    url: str
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None

    def interaction(self, redactor: Redactor) -> dict[str, Any]:
        spec = load_spec(self.api)
        server = spec.document["servers"][0]["url"].rstrip("/")
        if spec.base_path + "/" in self.url:
            path = self.url[self.url.index(spec.base_path + "/") + len(spec.base_path) :]
        else:  # an operation outside the base path (SolveXia's token endpoint), on its own server
            located = spec.locate(self.method, urlsplit(self.url).path)
            if located is None:
                raise ValueError(f"{self.source}: {self.method} {self.url} is no operation of {self.api}")
            operation, _, prefix = located
            server = spec.operation_base_url(server, operation)
            path = urlsplit(self.url).path[len(prefix) :]
        headers = {**self.headers, SOURCE_HEADER: self.source}
        if self.request_body:  # its client_secret, wherever it shows: a documented body is a sample
            with contextlib.suppress(ValueError):
                redactor.learn(json.loads(self.request_body), sample=True)
        return {
            "request": {
                "method": self.method,
                "uri": redactor.text(server + path),
                "body": redactor.body(self.request_body),
                "headers": {name: [redactor.header(name, value)] for name, value in headers.items()},
            },
            "response": {
                "status": {"code": self.status, "message": HTTPStatus(self.status).phrase},
                "headers": {name: [value] for name, value in JSON_HEADERS.items()},
                "body": {"string": redactor.body(json.dumps(self.body))},
            },
        }


def _fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def _curl(command: str) -> tuple[str, str, dict[str, str], str | None]:
    """Method, URL, headers and body of a documented curl command."""
    words = shlex.split(command.replace("\\\n", " "))
    method, url, headers, body = "GET", "", {}, None
    for i, word in enumerate(words):
        if word == "-X":
            method = words[i + 1]
        elif word == "-H":
            name, _, value = words[i + 1].partition(":")
            headers[name.strip()] = value.strip()
        elif word in ("-d", "--data"):
            body = words[i + 1]
        elif word.startswith("http") and not url:
            url = word
    return method.upper(), url, headers, body


def solvexia_examples(pages: Path) -> Iterator[Example]:
    """Each "### Example" of the process-run page, each token request of the OAuth page, and the error
    body of the response codes page."""
    name = "solvexia-process-runs.md"
    text = (pages / name).read_text(encoding="utf-8")
    for section in re.split(r"(?m)^## ", text)[1:]:
        title = section.splitlines()[0].strip()
        shell, bodies = _fenced(section, "shell"), _fenced(section, "json")
        if not shell or "### Example" not in section:
            continue
        method, url, headers, body = _curl(shell[0])
        source = cite(name, f"{title}{NEXT}Example{NEXT}Response")
        yield Example("solvexia", source, method, url, 200, json.loads(bodies[-1]), headers, body)
    oauth = "solvexia-schemas/authentication-oauth2.0.md"
    text = (pages / oauth).read_text(encoding="utf-8")
    for section in re.split(r"(?m)^## ", text)[1:]:
        title = section.splitlines()[0].strip()
        curls = _fenced(section, "bash") + _fenced(section, "cURL")
        if not curls or "/oauth/token" not in curls[0]:
            continue
        # each grant's curl example, and the response of its section
        method, url, headers, body = _curl(curls[0])
        response = json.loads(_fenced(section, "json")[-1])
        source = cite(oauth, f"{title}{NEXT}Response")
        yield Example("solvexia", source, method, url, 200, response, headers, body)
    codes = "solvexia-schemas/response_codes.md"
    error = json.loads(_fenced((pages / codes).read_text(encoding="utf-8"), "javascript")[0])
    # "Supplied step id is not of type Data Step": asking a data step (ds-) for its run status.
    yield Example(
        "solvexia",
        cite(codes, "Error Response Body"),
        "GET",
        "https://app.solvexia.com/api/v1/processruns/pr-114278/steps/ds-114279/runstatus",
        400,
        error,
    )


def automation_runs_examples(pages: Path) -> Iterator[Example]:
    """Each operation's curl line and its two unlabelled bodies (200 and 422, AR-002)."""
    name = "automation-runs-api.txt"
    text = (pages / name).read_text(encoding="utf-8")
    titles = re.findall(r"(?m)^\}?([A-Z][A-Za-z ]+)\n(?:Query|Path) Parameters", text)
    curl = re.compile(r"""curl -X (\w+) "([^"]+)"(?: \\ -H "[^"]+")?(?: \\ -d '([^']*)')?""")
    decoder = json.JSONDecoder()
    for title, match in zip(titles, curl.finditer(text), strict=True):
        position = match.end()
        for status in (200, 422):
            body, position = decoder.raw_decode(text, position)
            source = cite(name, f"{title}{NEXT}Response Body ({status})")
            headers = JSON_HEADERS if match.group(3) is not None else {}
            yield Example(
                "automation_runs",
                source,
                match.group(1),
                match.group(2),
                status,
                body,
                headers,
                match.group(3),
            )
            while position < len(text) and text[position].isspace():
                position += 1


_KOGNITOS_FIELD = re.compile(r"^([a-z_]+?)(?:string|any of|integer|number|boolean)")


def _field_examples(block: str) -> dict[str, Any]:
    """Field name -> example value of a rendered GitBook field list (``Example: ...`` lines)."""
    fields: dict[str, Any] = {}
    current = None
    for line in block.splitlines():
        header = _KOGNITOS_FIELD.match(line)
        if header:
            current = header.group(1)
            fields.setdefault(current, None)
        elif current and line.startswith("Example: "):
            raw = re.split(r"Pattern: |Possible values:", line[len("Example: ") :])[0].strip()
            try:
                fields[current] = json.loads(raw)
            except ValueError:
                fields[current] = raw
    return fields


def kognitos_examples(pages: Path) -> Iterator[Example]:
    """The 200 responses of List Runs and Get Run, assembled from their per-field examples.

    Start a Run documents no response at all (KG-005), so it has no interaction. A required
    field without an example (List Runs' continuation_token) is null, its documented
    alternative.
    """
    name = "kognitos-runs-v2.txt"
    text = (pages / name).read_text(encoding="utf-8")
    list_part = text[text.index("List Runs") : text.index("Start a Run\n\npost")]
    get_part = text[text.index("Get Run\n\nget") :]
    listed = _field_examples(list_part[list_part.index("A List of runs") :])
    yield Example(
        "kognitos",
        cite(name, f"List Runs{NEXT}Responses{NEXT}200 (field examples)"),
        "GET",
        "https://rest-api.app.kognitos.com/v2/runs?process_id=b4fznghynbdemslfd5k044fgd&agent_id=b4fznghynbdemslfd5k044fgd",
        200,
        listed,
    )
    run = _field_examples(get_part[get_part.index("The requested run") :])
    yield Example(
        "kognitos",
        cite(name, f"Get Run{NEXT}Responses{NEXT}200 (field examples)"),
        "GET",
        f"https://rest-api.app.kognitos.com/v2/runs/{run['id']}",
        200,
        run,
    )


def build(pages: Path, out_dir: Path) -> dict[str, int]:
    """Write ``<out>/<api>.yaml`` for every API whose pages hold examples; interactions per API."""
    redactor = Redactor()
    written = {}
    for api, info in APIS.items():
        if info.examples is None:
            continue
        interactions = [example.interaction(redactor) for example in load_object(info.examples)(pages)]
        write_cassette(out_dir / f"{api}.yaml", interactions)
        written[api] = len(interactions)
    return written


if __name__ == "__main__":
    pages_dir = Path(sys.argv[1])
    target = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("cassettes/documented")
    for api_name, count in build(pages_dir, target).items():
        print(f"{api_name}: {count} documented interactions in {target / api_name}.yaml")
