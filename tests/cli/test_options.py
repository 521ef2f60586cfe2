"""One declaration of the options (``engine.settings``): every option of ``run``, ``record`` and
``replay`` is read from conformance.toml and from the command line alike, the command line wins,
and the rerun command in results.json repeats a night set up by ``[run.<api>]`` sections against
the same server with the same headers, without the file."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import trustme

from conformance.cli import config
from conformance.cli.arguments import build_parser
from conformance.cli.running import run_options
from conformance.engine.settings import COMMANDS, RECORD, RUN, by_name, settings_of
from conformance.engine.shard import Shard
from conformance.findings import FailPolicy

from ..inprocess import InProcess
from ..recorder import Recorder, recorded_mock

TOKEN = "options-token-7a1c"
MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cacerts(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("ca")
    paths = []
    for name in ("one.pem", "two.pem"):
        trustme.CA().cert_pem.write_to_path(str(folder / name))
        paths.append(str(folder / name))
    return paths[0], paths[1]


def samples(cacerts: tuple[str, str]) -> dict[str, tuple[Any, Any, list[str], Any]]:
    """Per option: a value in the file and the field it gives, then command-line words and theirs."""
    return {
        "base-url": ("http://a.test/v2", "http://a.test/v2", ["--base-url", "http://b.test/v2"], "http://b.test/v2"),
        "parameter": ({"workspace_id": "w1", "process_id": "p"}, {"workspace_id": "w1", "process_id": "p"},
                      ["--parameter", "workspace_id=w2"], {"workspace_id": "w2", "process_id": "p"}),
        "max-examples": (2, 2, ["--max-examples", "3"], 3),
        "seed": (5, 5, ["--seed", "6"], 6),
        "phases": (["examples"], ("examples",), ["--phases", "coverage,fuzzing"], ("coverage", "fuzzing")),
        "workers": (2, 2, ["--workers", "3"], 3),
        "checks": (["not_a_server_error"], ("not_a_server_error",), ["-c", "all"], ("all",)),
        "exclude-checks": ("ignored_auth", ("ignored_auth",), ["--exclude-checks", "ignored_auth,x"],
                           ("ignored_auth", "x")),
        "max-failures": (1, 1, ["--max-failures", "2"], 2),
        "max-time": (30, 30, ["--max-time", "60"], 60),
        "strict": (False, False, ["--strict"], True),
        "fail-on": ("any", FailPolicy.parse("any"), ["--fail-on", "breaking,resolved"],
                    FailPolicy.parse("breaking,resolved")),
        "mock-mode": ("strict", "strict", ["--mock-mode", "faithful"], "faithful"),
        "report-dir": ("reports/nightly", Path("reports/nightly"), ["--report-dir", "out"], Path("out")),
        "request-timeout": (5, 5.0, ["--request-timeout", "7"], 7.0),
        "max-body-mb": (2, 2 * MB, ["--max-body-mb", "3"], 3 * MB),
        "lifecycle-timeout": (900, 900.0, ["--lifecycle-timeout", "60"], 60.0),
        "poll-interval": (0.5, 0.5, ["--poll-interval", "2"], 2.0),
        "rate-limit": (5, 5.0, ["--rate-limit", "2"], 2.0),
        "header": (["X-Tenant: acme"], (("X-Tenant", "acme"),), ["-H", "X-Tenant: b"], (("X-Tenant", "b"),)),
        "proxy": ("http://proxy.test:3128", "http://proxy.test:3128", ["--proxy", "https://p.test:8443"],
                  "https://p.test:8443"),
        "tls-verify": (False, False, ["--tls-verify"], True),
        "cacert": (cacerts[0], cacerts[0], ["--cacert", cacerts[1]], cacerts[1]),
        "include-operation": (["getRun"], ("getRun",), ["--include-operation", "listRuns"], ("listRuns",)),
        "exclude-operation": ("getRun", ("getRun",), ["--exclude-operation", "listRuns"], ("listRuns",)),
        "shard": ("1/2", Shard(1, 2), ["--shard", "2/2"], Shard(2, 2)),
        "out": ("cass", Path("cass"), ["--out", "other"], Path("other")),
        "record-mode": ("none", "none", ["--record-mode", "all"], "all"),
        "api": ("kognitos", "kognitos", ["--api", "robocorp"], "robocorp"),
        "skip-unknown": (False, False, ["--skip-unknown"], True),
    }  # fmt: skip


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{name} = {toml_value(item)}" for name, item in value.items()) + "}"
    return json.dumps(value)  # strings, numbers, booleans and lists of them are TOML this way too


def settled(command: str, words: list[str]) -> dict[str, Any]:
    """What ``command`` runs with, by field, given ``words`` and ./conformance.toml."""
    if command == RUN:
        options, report_dir = run_options(build_parser().parse_args(["run", "kognitos", *words]))
        return {**{f.name: getattr(options, f.name) for f in fields(options)}, "report_dir": report_dir}
    positional = "kognitos" if command == RECORD else "cassettes"
    args = build_parser().parse_args([command, positional, *words])
    given = config.command_line(command, args)
    return config.settings(command, given, config.load_config(None), "kognitos")


IN_FILE = [(command, s.name) for command in COMMANDS for s in settings_of(command) if s.in_file]


@pytest.mark.parametrize(("command", "name"), IN_FILE, ids=[f"{c}-{n}" for c, n in IN_FILE])
def test_every_option_is_read_from_the_file_and_the_command_line_wins(
    command: str, name: str, cacerts: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setting = by_name(command)[name]
    in_file, from_file, words, from_command_line = samples(cacerts)[name]
    (tmp_path / "conformance.toml").write_text(f"[{command}]\n{setting.key} = {toml_value(in_file)}\n")
    monkeypatch.chdir(tmp_path)
    assert settled(command, [])[setting.field] == from_file
    assert settled(command, words)[setting.field] == from_command_line


def test_credentials_are_refused_in_the_file_and_taken_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    credentials = [s for s in settings_of(RUN) if not s.in_file and s.name != "config"]
    assert {s.name for s in credentials} == {"token", "client-id", "client-secret"}
    for setting in credentials:
        (tmp_path / "conformance.toml").write_text(f'[run]\n{setting.name} = "x"\n')
        with pytest.raises(config.UsageError, match=f"unknown setting '{setting.name}'"):
            settled(RUN, [])
        (tmp_path / "conformance.toml").unlink()
        assert settled(RUN, [setting.flag, "given"])[setting.field] == "given"


def test_the_readmes_config_file_and_report_dir_on_the_command_line_go_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make demo`` (``--report-dir``) in a folder holding the README's conformance.toml."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme.split("### A configuration file", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "conformance.toml").write_text(example)
    monkeypatch.chdir(tmp_path)
    assert settled(RUN, ["--report-dir", "reports/latest"])["report_dir"] == Path("reports/latest")
    assert settled(RUN, [])["report_dir"] == Path(re.findall(r'report-dir = "([^"]+)"', example)[0])


def test_per_api_sections_and_parameters_merge_by_name_and_the_command_line_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "conformance.toml").write_text(
        "[run.parameters]\nworkspace_id = 'everywhere'\nlimit = 5\n[run.robocorp]\nrate-limit = 2\n"
        "[run.robocorp.parameters]\nworkspace_id = 'ws-robo'\nprocess_id = 'p'\n"
    )
    monkeypatch.chdir(tmp_path)
    options, _ = run_options(build_parser().parse_args(["run", "--parameter", "process_id=cli"]))
    assert options.for_api("kognitos").parameters == {
        "workspace_id": "everywhere",
        "limit": "5",
        "process_id": "cli",
    }
    robocorp = options.for_api("robocorp")
    assert robocorp.parameters == {"workspace_id": "ws-robo", "limit": "5", "process_id": "cli"}
    assert robocorp.rate_limit == 2.0 and options.rate_limit is None


def test_the_file_limit_is_the_one_the_readme_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "1 MB for `conformance.toml`" in (ROOT / "README.md").read_text(encoding="utf-8")
    (tmp_path / "conformance.toml").write_text("[run]\n" + "#" * config.MAX_CONFIG_BYTES + "\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(config.UsageError, match="larger than 1 MB"):
        settled(RUN, [])


# -- over HTTP --------------------------------------------------------------------------------------------
@pytest.fixture
def recorded() -> Iterator[tuple[Recorder, str]]:
    with recorded_mock(TOKEN) as pair:
        yield pair


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> InProcess:
    return InProcess(monkeypatch, capsys)


ENV = {"KOGNITOS_API_KEY": TOKEN, "PATH": ""}


def test_the_rerun_command_repeats_a_per_api_night_against_the_same_server_and_headers(
    cli: InProcess, recorded: tuple[Recorder, str], tmp_path: Path
) -> None:
    recorder, base_url = recorded
    night, later = tmp_path / "night", tmp_path / "later"
    night.mkdir(), later.mkdir()
    (night / "conformance.toml").write_text(
        "[run]\nphases = ['examples']\nmax-examples = 2\npoll-interval = 0.05\n"
        f"[run.kognitos]\nbase-url = '{base_url}'\nheader = ['X-Tenant: acme']\n"
    )
    first = cli("run", "kognitos", "--report-dir", "out", cwd=night, env=ENV)
    assert first.returncode == 0, first.stdout + first.stderr
    rerun = json.loads((night / "out" / "results.json").read_text())["options"]["rerun"]
    assert "\n" not in rerun and f"--base-url {base_url}" in rerun and "'X-Tenant: acme'" in rerun

    recorder.headers.clear()
    again = cli(*shlex.split(rerun)[1:], "--report-dir", "out", cwd=later, env=ENV)  # no config file here
    assert again.returncode == 0, again.stdout + again.stderr
    repeated = json.loads((later / "out" / "results.json").read_text())
    assert repeated["apis"][0]["base_url"] == base_url and repeated["options"]["rerun"] == rerun
    sent = [headers for headers in recorder.headers if headers.get("x-api-key") == TOKEN]
    assert sent and all(headers.get("x-tenant") == "acme" for headers in sent)


def test_record_reads_the_server_and_headers_of_the_config_file(
    cli: InProcess, recorded: tuple[Recorder, str], tmp_path: Path
) -> None:
    recorder, base_url = recorded
    (tmp_path / "conformance.toml").write_text(
        f"[run.kognitos]\nbase-url = '{base_url}'\nheader = ['X-Tenant: acme']\n"
        "[record]\nout = 'recorded'\npoll-interval = 0.05\n"
    )
    done = cli("record", "kognitos", cwd=tmp_path, env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "recorded" / "kognitos.yaml").is_file()
    sent = [headers for headers in recorder.headers if headers.get("x-api-key") == TOKEN]
    assert sent and all(headers.get("x-tenant") == "acme" for headers in sent)


def test_replay_takes_fail_on_from_the_command_line_and_its_table(cli: InProcess, tmp_path: Path) -> None:
    cassette = str(ROOT / "cassettes" / "mocks" / "kognitos.yaml")
    done = cli("replay", cassette, "--fail-on", "any", "--report-dir", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "out" / "results.json").read_text())["options"]["fail_on"] == "any"
    (tmp_path / "conformance.toml").write_text("[run]\nfail-on = 'any'\n[replay]\nstrict = true\n")
    strict = cli("replay", cassette, "--report-dir", "out", cwd=tmp_path)
    options = json.loads((tmp_path / "out" / "results.json").read_text())["options"]
    assert options["strict"] is True and options["fail_on"] == "any"
    assert strict.returncode == 1  # the cassette's known quirks fail a strict replay
