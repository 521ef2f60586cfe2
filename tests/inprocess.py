"""``conformance`` run in the test's own process, for tests about what a command does rather than
about the process (signals, a real terminal, the installed script): a child process spends most
of its time importing the suite, which this process has already done."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from conformance.cli.main import main
from conformance.vendors.registry import APIS

#: What a command reads from the environment: cleared for a call given its own ``env``, as a child
#: process given ``env`` would see none of them.
_READ = {
    name
    for api in APIS.values()
    for name in (
        api.credential_env,
        api.base_url_env,
        *((api.oauth.client_id_env, api.oauth.client_secret_env) if api.oauth else ()),
    )
}


class InProcess:
    """Calls ``conformance.cli.main.main`` as ``subprocess.run`` would run the command: in ``cwd``,
    with ``env`` (when given, in place of the vendors' and the suite's own variables), and gives
    back a ``CompletedProcess`` with what it printed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch, self.capsys = monkeypatch, capsys

    def __call__(
        self, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        with self.monkeypatch.context() as patch:
            if cwd is not None:
                patch.chdir(cwd)
            if env is not None:
                for name in [n for n in os.environ if n in _READ or n.startswith("CONFORMANCE_")]:
                    patch.delenv(name)
                for name, value in env.items():
                    if name != "PATH":  # a child's PATH; this process finds nothing through it
                        patch.setenv(name, value)
            self.capsys.readouterr()
            environment = dict(os.environ)
            try:
                code = main(list(args))
            finally:  # what a command sets in its environment ends with it, as a child's would
                os.environ.clear()
                os.environ.update(environment)
            out, err = self.capsys.readouterr()
        return subprocess.CompletedProcess(["conformance", *args], code, out, err)
