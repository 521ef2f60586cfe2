"""One night's flow through the real command line, with canary credentials in every place the
suite meets one: ``run`` (embedded mocks and a served one), ``record`` of all four APIs,
``replay`` of those recordings and of a cassette captured without redaction, ``report`` and
``diff``. No canary may appear in any file written or any line printed, the mocks' included.

tests/cassettes/test_redaction.py checks the recorder's hooks and replay in-process; this test
checks the commands as a user (or the nightly workflow) runs them, in subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import vcr

from conformance.mocks.automation_runs import PENDING_RUN_ID
from conformance.mocks.solvexia_oauth import ISSUED_PREFIXES
from conformance.vendors.registry import APIS

from . import loopback
from .canary import leaks

#: The credential each vendor's mock accepts, given to ``record`` through the vendor's variable
#: and carried where its declaration says (Bearer, RC-WSKEY and the token query, x-api-key, ...).
VENDOR_TOKENS = {api: f"canary-{api}-credential-{index}f3a9" for index, api in enumerate(APIS)}
RUN_TOKEN = "canary-run-token-1a7d"  # conformance run --token, to the embedded mocks
#: Credential-shaped values that travel in bodies and webhook headers rather than in the auth scheme.
BODY_CANARIES = {
    "access_token": "canary-access-token-92be",
    "client_secret": "canary-client-secret-0f4c",
    "callback secret": "canary-callback-secret-6a13",
    "X-Hook-Secret": "canary-hook-secret-d85e",
}
#: SolveXia's nightly job signs in with a client id and secret (``SOLVEXIA_CLIENT_*``) rather than a
#: token: ``serve`` accepts this client, and ``run`` and ``record`` sign in as it.
CLIENT_ID, CLIENT_SECRET = "canary-solvexia-client-id-4e02", "canary-solvexia-client-secret-b81f"
SIGN_IN = {"SOLVEXIA_CLIENT_ID": CLIENT_ID, "SOLVEXIA_CLIENT_SECRET": CLIENT_SECRET}
CANARIES = {"run --token": RUN_TOKEN, **VENDOR_TOKENS, **BODY_CANARIES, "client secret": CLIENT_SECRET}
#: How those places look in a replayed finding's reproducing curl line: a vendor's credential read
#: from its variable, anything else credential-shaped redacted.
REDACTED_IN_REQUESTS = [
    "cookie: [REDACTED]",
    "x-api-key: ${automation_runs_api_key}",
    "authorization: rc-wskey ${robocorp_api_key}",
    "token=${robocorp_api_key}",
    "x-hook-secret: [REDACTED]",
    '"access_token": "[REDACTED]"',
    '"client_secret": "[REDACTED]"',
    '"secret": "[REDACTED]"',
]
CONFORMANCE = [str(Path(sys.executable).with_name("conformance"))]
if not Path(CONFORMANCE[0]).exists():
    CONFORMANCE = [sys.executable, "-m", "conformance"]


class Cli:
    """Runs ``conformance`` commands in ``cwd`` (so stray files land where they are searched) and
    keeps what each printed."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.outputs: dict[str, str] = {}
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key
            not in {api.credential_env for api in APIS.values()}
            | {
                "CONFORMANCE_MOCK_TOKEN",
                *SIGN_IN,
                "CONFORMANCE_MOCK_CLIENT_ID",
                "CONFORMANCE_MOCK_CLIENT_SECRET",
            }
        }

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*CONFORMANCE, *args],
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def finish(self, process: subprocess.Popen[str], timeout: float = 120) -> int:
        out, err = process.communicate(timeout=timeout)
        label = " ".join(str(arg) for arg in process.args[len(CONFORMANCE) :])  # type: ignore[index]
        self.outputs[f"{label} (stdout)"], self.outputs[f"{label} (stderr)"] = out, err
        return process.returncode

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> int:
        return self.finish(self.start(*args, env=env))

    @contextmanager
    def serving(self, tokens: dict[str, str]) -> Iterator[dict[str, str]]:
        """``conformance serve`` of each API with its token, side by side; yields their base URLs
        (from each one's first line) and keeps everything they printed."""
        client = {"solvexia": ["--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]}
        processes = {
            api: self.start("serve", api, "--port", "0", "--token", token, *client.get(api, []))
            for api, token in tokens.items()
        }
        first_lines: dict[str, str] = {}
        try:
            for api, process in processes.items():
                first_lines[api] = process.stdout.readline() if process.stdout else ""
                assert first_lines[api].startswith(f"serving {api} at "), first_lines[api]
            yield {api: line.split(" at ", 1)[1].strip() for api, line in first_lines.items()}
        finally:
            for api, process in processes.items():
                process.terminate()
                self.finish(process, timeout=10)
                self.outputs[f"serve {api} (first line)"] = first_lines.get(api, "")


def failed_night(response: dict[str, Any]) -> dict[str, Any]:
    """Records every answer as a 500, so that each interaction becomes a finding with its request."""
    return {**response, "status": {"code": 500, "message": "Internal Server Error"}}


def capture_without_redaction(base_urls: dict[str, str], directory: Path) -> None:
    """Traffic a user might hand over, recorded by plain vcrpy on a night the vendors failed: the
    vai_token cookie, X-API-Key, a callback secret, the token query parameter with an echoed
    X-Hook-Secret, and an input work item (served back as output) with OAuth-shaped fields.
    One cassette per API (``<api>.yaml``), as ``diff`` compares recordings of one API."""
    runs, robocorp = f"{base_urls['automation_runs']}/automation-runs", base_urls["robocorp"]
    workspace = f"{robocorp}/workspaces/workspace_id_example"
    process = f"{workspace}/processes/process_id_example"
    key = VENDOR_TOKENS["automation_runs"]
    rc_auth = {"Authorization": f"RC-WSKEY {VENDOR_TOKENS['robocorp']}"}
    callback = {"url": "https://hooks.example/run", "secret": BODY_CANARIES["callback secret"]}
    recorder = vcr.VCR(record_mode="all", before_record_response=failed_night)
    with recorder.use_cassette(str(directory / "automation_runs.yaml")), loopback.Client() as client:
        assert client.get(runs, headers={"Cookie": f"vai_token={key}"}).status_code == 200
        assert client.get(f"{runs}/{PENDING_RUN_ID}", headers={"X-API-Key": key}).status_code == 200
    with recorder.use_cassette(str(directory / "robocorp.yaml")), loopback.Client() as client:
        started = client.post(
            f"{process}/process-runs", headers=rc_auth, json={"callback": {**callback, "callback_events": []}}
        )
        assert started.status_code == 200, started.text
        handshake = client.post(
            f"{process}/process-runs-integrations",
            params={"token": VENDOR_TOKENS["robocorp"], "with_handshake": "asana"},
            headers={"X-Hook-Secret": BODY_CANARIES["X-Hook-Secret"]},
            json={field: BODY_CANARIES[field] for field in ("access_token", "client_secret")},
        )
        assert handshake.headers["x-hook-secret"] == BODY_CANARIES["X-Hook-Secret"]
        run = f"{workspace}/process-runs/{handshake.json()['id']}"
        for _ in range(5):  # each poll moves the mock's run one state on
            if client.get(run, headers=rc_auth).json()["state"] == "completed":
                break
        outputs = client.get(f"{run}/outputs", headers=rc_auth).json()
        assert outputs["data"][0]["payload"]["access_token"] == BODY_CANARIES["access_token"]


def test_no_credential_reaches_a_file_or_the_terminal_across_the_commands(tmp_path: Path) -> None:
    out, captured = tmp_path / "out", tmp_path / "captured"
    out.mkdir()
    captured.mkdir()
    cli = Cli(out)

    budget = ["--max-examples", "2", "--seed", "1", "--phases", "examples", "--poll-interval", "0.05"]
    embedded = cli.start("run", "--token", RUN_TOKEN, *budget, "--report-dir", "run")
    with cli.serving(VENDOR_TOKENS) as base_urls:
        # every vendor's credential in its variable; SolveXia's a client id and secret instead
        env = {APIS[api].credential_env: token for api, token in VENDOR_TOKENS.items() if api != "solvexia"}
        env |= SIGN_IN
        # the runs and recordings side by side, each its own process, where they share no server:
        # a run judges lists and lifecycles, which another client's runs on its server could change
        served = ["run", "robocorp", "--base-url", base_urls["robocorp"], *budget, "--report-dir", "served"]
        signed_in = [
            "run",
            "solvexia",
            "--base-url",
            base_urls["solvexia"],
            *budget,
            "--report-dir",
            "signed-in",
        ]
        record = ["--out", "cassettes", "--poll-interval", "0.05"]

        def recording(api: str) -> subprocess.Popen[str]:
            return cli.start("record", api, "--base-url", base_urls[api], *record, env=env)

        runs = [cli.start(*served, env=env), cli.start(*signed_in, env=env)]
        recordings = [recording(api) for api in APIS if api not in ("robocorp", "solvexia")]
        assert [cli.finish(process) for process in runs] == [0, 0], cli.outputs
        recordings += [recording(api) for api in ("robocorp", "solvexia")]
        assert [cli.finish(recording) for recording in recordings] == [0] * len(APIS), cli.outputs
        capture_without_redaction(base_urls, captured)
    # Exit 0 also shows the embedded mocks took the canary: a refused credential would be new drift.
    assert cli.finish(embedded) == 0, cli.outputs

    assert "token=[REDACTED]" in (out / "cassettes" / "robocorp.yaml").read_text()
    handed_over = "".join(path.read_text() for path in sorted(captured.iterdir()))
    assert [place for place, canary in CANARIES.items() if canary in handed_over] == [
        "robocorp",
        "automation_runs",
        *BODY_CANARIES,
    ]
    # the replay, the first report and the two diffs of recordings need nothing of each other
    replaying = cli.start("replay", "cassettes", str(captured), "--report-dir", "replay")
    reporting = cli.start("report", "run/results.json", "--out", "report")
    diffing = [  # last night's recording against the failed night
        cli.start(
            "diff", f"cassettes/{api}.yaml", str(captured / f"{api}.yaml"), "--report-dir", f"diff/{api}"
        )
        for api in ("automation_runs", "robocorp")
    ]
    assert cli.finish(replaying) == 1, cli.outputs  # the 500s
    assert cli.finish(reporting) == 0, cli.outputs
    assert [cli.finish(process) for process in diffing] == [1, 1], cli.outputs
    findings = json.loads((out / "replay" / "results.json").read_text())["findings"]
    printed = "\n".join(f["request"].lower() for f in findings if f["kind"] == "server-error")
    for place in REDACTED_IN_REQUESTS:  # each canary's place was printed, redacted
        assert place.lower() in printed, place
    reporting = cli.start("report", "replay/results.json")
    comparing = cli.start("diff", "run/results.json", "replay/results.json")
    assert cli.finish(reporting) == 0, cli.outputs
    assert cli.finish(comparing) in (0, 1), cli.outputs

    assert {"run", "served", "signed-in", "cassettes", "replay", "report", "diff"} <= {
        p.name for p in out.iterdir()
    }
    assert leaks(CANARIES, [out], cli.outputs) == []
    # the access tokens the SolveXia mock issued to run and record: unknown here, but recognisable
    issued = {f"an issued {kind} token": prefix for kind, prefix in ISSUED_PREFIXES.items()}
    assert leaks(issued, [out], cli.outputs) == []
