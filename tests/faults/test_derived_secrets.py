"""Issue 28, causes 6 to 9: no secret reaches an output in any form the suite produces or reads.

A secret is looked for raw, percent-encoded in upper- and lower-case hex, JSON-escaped, as the
base64 ``Basic`` form of a user and password, and (being looked for as text) as a member name,
in every file written and every line printed. Servers are real loopback HTTP, files real files,
commands the real command line run in this process (``here``: no time or memory is measured),
with the warnings, log records and thread exceptions a child would also print searched too.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conformance.cassettes.cassette import parse_document, write_cassette
from conformance.mocks import MockServer, create_mock
from conformance.vendors.registry import SPECS_DIR

from ..canary import leaks
from . import server as faults
from .hostile import Outcome, one_line_error, valid_outputs
from .server import Exchange, Fault, FaultServer

MOCK_CASSETTES = SPECS_DIR.parent / "cassettes" / "mocks"
GET_RUN = r"/v2/runs/[^/]+$"
TOKEN_PATH = r"^/oauth/token$"
#: A credential with the characters each encoding changes: a quote, a slash, a plus, a space.
TOKEN = "canary'token/+ 7c21"
USER, PASSWORD = "canary-user-55e0", "canary-pass/+'93ad"
CLIENT_ID, CLIENT_SECRET = "canary-client-id-4e1d", "canary-client'secret/+8b3f"


def every_form(secrets: dict[str, str], basic: tuple[str, str] | None = None) -> dict[str, str]:
    """Each secret as the suite may meet or write it: raw, percent-encoded (upper- and lower-case
    hex), JSON-escaped; and the base64 ``Basic`` form of ``basic`` (a user and a password)."""
    forms: dict[str, str] = {}
    for place, secret in secrets.items():
        encoded = quote(secret, safe="")
        forms |= {
            place: secret,
            f"{place} (URL-encoded)": encoded,
            f"{place} (URL-encoded, lower-case hex)": _lower_hex(encoded),
            f"{place} (JSON-escaped)": json.dumps(secret)[1:-1],
        }
    if basic is not None:
        forms["user:password (base64 Basic)"] = base64.b64encode(":".join(basic).encode()).decode()
    return forms


def _lower_hex(encoded: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda escape: escape.group().lower(), encoded)


def no_secret(outcomes: list[Outcome], directories: list[Path], forms: dict[str, str]) -> None:
    printed = {" ".join(outcome.args): outcome.printed for outcome in outcomes}
    assert not any("Traceback" in text or "internal error" in text for text in printed.values()), printed
    assert leaks(forms, directories, printed) == []


def echoed(*names: str, change: Callable[[dict[str, Any], dict[str, str]], None]) -> faults.Action:
    """The mock's JSON answer, changed by ``change`` given the request's headers ``names``
    (lower-case): a server that echoes what it was sent, in members and member names."""

    async def answer(exchange: Exchange) -> None:
        status, headers, body = await exchange.forward()
        sent = {n.decode("latin-1").lower(): v.decode("latin-1") for n, v in exchange.raw_headers}
        document = json.loads(body)
        change(document, {name: sent.get(name, "") for name in names})
        await exchange.respond(status, headers, json.dumps(document).encode())

    return answer


@pytest.fixture(scope="module")
def kognitos() -> Iterator[MockServer]:
    with MockServer(create_mock("kognitos", "faithful", TOKEN).app()) as server:
        yield server


# -- 6. derived forms: base64 Basic of the base URL's user:password, lower-case hex, issued tokens ------


def test_derived_forms_of_the_base_url_credentials_reach_no_run_output_or_cassette(
    kognitos: MockServer, here: Callable[..., Outcome], tmp_path: Path
) -> None:
    def echo(document: dict[str, Any], sent: dict[str, str]) -> None:
        document["stage"] = sent["authorization"]  # "Basic base64(user:password)", as clients send it
        document["note"] = [
            _lower_hex(quote(sent["x-api-key"], safe="")),
            _lower_hex(quote(PASSWORD, safe="")),
        ]

    with FaultServer(
        kognitos.port, [Fault("GET", GET_RUN, echoed("authorization", "x-api-key", change=echo))], "/v2"
    ) as front:
        secret_url = front.base_url.replace("http://", f"http://{USER}:{quote(PASSWORD, safe='')}@")
        ran = here(
            "run", "kognitos", "--base-url", secret_url, "--token", TOKEN, "--include-operation", "getRun",
            "--phases", "examples", "--max-examples", "1", "--seed", "1", "--report-dir", "report",
            cwd=tmp_path,
        )  # fmt: skip
        recorded = here(
            "record", "kognitos", "--base-url", secret_url, "--out", "cassettes", "--poll-interval", "0.05",
            "--lifecycle-timeout", "5", cwd=tmp_path, env={"KOGNITOS_API_KEY": TOKEN},
        )  # fmt: skip
    assert ran.code == 1, ran  # the echoes are findings at getRun
    document = valid_outputs(tmp_path / "report")
    assert any(f["location"] == "/stage" and "[REDACTED]" in str(f["observed"]) for f in document["findings"])
    assert recorded.code == 0, recorded
    assert "Basic [REDACTED]" in (tmp_path / "cassettes" / "kognitos.yaml").read_text()
    forms = every_form({"token": TOKEN, "user": USER, "password": PASSWORD}, basic=(USER, PASSWORD))
    no_secret([ran, recorded], [tmp_path], forms)


def issued_with(suffix: str, issued: list[str]) -> faults.Action:
    """The mock's access token with ``suffix`` appended (a quote, a CR/LF): issued tokens the run
    cannot know before they arrive, echoed where no credential is expected (``token_type``: an
    object named by the token, holding it URL-encoded in lower-case hex). ``issued`` gets each."""

    async def answer(exchange: Exchange) -> None:
        status, headers, body = await exchange.forward()
        document = json.loads(body)
        token = document["access_token"] = document["access_token"] + suffix
        document["token_type"] = {token: _lower_hex(quote(token, safe="")), "raw": token}
        issued.append(token)
        await exchange.respond(status, headers, json.dumps(document).encode())

    return answer


@pytest.mark.parametrize("suffix", ["'quoted/+", "\r\ncrlf"], ids=["quote", "CR/LF"])
def test_an_issued_token_reaches_no_output_in_any_form(
    here: Callable[..., Outcome], tmp_path: Path, suffix: str
) -> None:
    issued: list[str] = []
    mock = create_mock("solvexia", "faithful", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with (
        MockServer(mock.app(), mock.spec.base_path) as upstream,
        FaultServer(upstream.port, [Fault("POST", TOKEN_PATH, issued_with(suffix, issued))], "/api") as front,
    ):
        outcome = here(
            "run", "solvexia", "--base-url", front.base_url, "--phases", "examples", "--max-examples", "2",
            "--seed", "1", "--poll-interval", "0.05", "--report-dir", "report", cwd=tmp_path,
            env={"SOLVEXIA_CLIENT_ID": CLIENT_ID, "SOLVEXIA_CLIENT_SECRET": CLIENT_SECRET},
        )  # fmt: skip
    assert issued and outcome.code in (1, 2), outcome  # refused by the mock: findings or errors, judged
    document = valid_outputs(tmp_path / "report")
    echoed_type = [f for f in document["findings"] if f["location"] == "/token_type"]
    assert echoed_type and all("[REDACTED]" in json.dumps(f["observed"]) for f in echoed_type)
    secrets = {"client secret": CLIENT_SECRET, **{f"token {n}": t for n, t in enumerate(issued)}}
    no_secret([outcome], [tmp_path], every_form(secrets))


# -- 7. a secret used as a JSON member name --------------------------------------------------------------


def test_a_token_as_a_member_name_reaches_no_output(
    kognitos: MockServer, here: Callable[..., Outcome], tmp_path: Path
) -> None:
    def keyed(document: dict[str, Any], sent: dict[str, str]) -> None:
        document[sent["x-api-key"]] = {"nested": 1}  # an extra member named by the credential
        document["stage"] = {sent["x-api-key"]: {"user": "x"}, f"{TOKEN}-2": 2}  # an object, keyed by it

    fault = Fault("GET", GET_RUN, echoed("x-api-key", change=keyed))
    with FaultServer(kognitos.port, [fault], "/v2") as front:
        outcome = here(
            "run", "kognitos", "--base-url", front.base_url, "--token", TOKEN, "--include-operation",
            "getRun", "--phases", "examples", "--max-examples", "1", "--seed", "1", "--fail-on", "any",
            "--report-dir", "report", cwd=tmp_path,
        )  # fmt: skip
    assert outcome.code == 1, outcome  # extra fields: additive drift, failing under --fail-on any
    document = valid_outputs(tmp_path / "report")
    observed = {f["kind"]: f["observed"] for f in document["findings"] if f["location"] != "/created_at"}
    assert observed["type-mismatch"] == {"[REDACTED]": {"user": "x"}, "[REDACTED]-2": 2}, observed
    no_secret([outcome], [tmp_path], every_form({"token": TOKEN}))


# -- 8. record never prints the --client-secret a token endpoint echoes ----------------------------------


def test_record_does_not_print_the_client_secret_a_token_endpoint_echoes(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    refusal = {"error": "invalid_client", "error_description": f"unknown secret {CLIENT_SECRET}"}
    echo = faults.json_body(json.dumps({**refusal, "error": f"bad {CLIENT_SECRET}"}).encode(), status=401)
    mock = create_mock("solvexia", "faithful", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with (
        MockServer(mock.app(), mock.spec.base_path) as upstream,
        FaultServer(upstream.port, [Fault("POST", TOKEN_PATH, echo)], "/api") as front,
    ):
        record = ("record", "solvexia", "--base-url", front.base_url, "--client-id", CLIENT_ID, "--out", "c")
        outcomes = [
            here(*record, *secret, cwd=tmp_path)
            for secret in (["--client-secret", CLIENT_SECRET], [f"--client-secret={CLIENT_SECRET}"])
        ]
    for outcome in outcomes:
        one_line_error(outcome, "solvexia refused the sign-in (401 bad [REDACTED] at")
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())  # nothing recorded
    no_secret(outcomes, [tmp_path], every_form({"client secret": CLIENT_SECRET}))


# -- 9. replay redacts what the vendors declare, and any userinfo ----------------------------------------


def test_replay_redacts_the_vendors_variables_and_any_userinfo_in_a_foreign_cassette(
    here: Callable[..., Outcome], tmp_path: Path
) -> None:
    """A cassette recorded elsewhere, without redaction: a response echoes the key of
    ``KOGNITOS_API_KEY`` (set when it is replayed, as in the nightly job) in every form, and one
    request went to a scheme-relative ``//user:password@host`` URI."""
    key = "canary-kognitos-key'/+0c4e"
    interactions = parse_document(MOCK_CASSETTES / "kognitos.yaml")["interactions"]
    for interaction in interactions:
        request, response = interaction["request"], interaction["response"]
        if request["method"] == "GET" and response["status"]["code"] == 200:
            document = json.loads(response["body"]["string"])
            document[key] = [key, quote(key, safe=""), _lower_hex(quote(key, safe=""))]
            response["body"]["string"] = json.dumps(document)
            response.get("headers", {}).pop("content-length", None)
    first = interactions[0]["request"]
    first["uri"] = first["uri"].replace("http://", f"//{USER}:{quote(PASSWORD, safe='')}@", 1)
    foreign = tmp_path / "foreign" / "kognitos.yaml"
    write_cassette(foreign, interactions)
    outcome = here("replay", "foreign", "--report-dir", "report", cwd=tmp_path, env={"KOGNITOS_API_KEY": key})
    assert outcome.code in (1, 2), outcome
    document = valid_outputs(tmp_path / "report")
    assert any(f["observed"] == "[REDACTED]" for f in document["findings"])
    assert f"//{USER}" not in outcome.printed and "//[REDACTED]@" in json.dumps(document) + outcome.printed
    forms = every_form({"key": key, "user": USER, "password": PASSWORD}, basic=(USER, PASSWORD))
    no_secret([outcome], [tmp_path / "report"], forms)  # the foreign cassette holds them, not searched
