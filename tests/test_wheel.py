"""A wheel built from the repository works after ``pip install``: it carries the specs, the
catalogues, the shipped cassettes and the report templates, and the command runs from any folder.

The wheel is built once per session (setuptools' backend, on a copy of the sources, so nothing
stale in ``build/`` reaches it) and installed into a fresh virtual environment. By default its
dependencies are borrowed from the environment running the tests (a ``.pth`` line; the wheel
itself is installed with ``--no-deps``), which keeps this test to seconds;
``CONFORMANCE_WHEEL_DEPS=index`` installs them from the package index instead (pip's cache makes
a second run faster, but it takes a minute or two).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What the wheel is built from; tests, benches and the repository's own reports are no part of it.
_NOT_BUILT = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "reports", "tests", "bench", "__pycache__",
    ".*_cache", ".hypothesis", "*.whl",
)  # fmt: skip


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "conformance"
    shutil.copytree(ROOT, source, symlinks=True, ignore=_NOT_BUILT)
    out = tmp_path_factory.mktemp("dist")
    build = "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
    completed = subprocess.run(
        [sys.executable, "-c", build, str(out)], cwd=source, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out / completed.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed; its ``bin/``."""
    env = tmp_path_factory.mktemp("venv") / "env"
    from_index = os.environ.get("CONFORMANCE_WHEEL_DEPS") == "index"
    venv.EnvBuilder(with_pip=from_index).create(env)
    python = env / "bin" / "python"
    if from_index:
        command = [str(python), "-m", "pip", "install", "--quiet", str(wheel)]
    else:
        purelib = Path(
            subprocess.run(
                [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
        ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (purelib / "_conformance_test_deps.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
        pip = [sys.executable, "-m", "pip", "--python", str(python)]
        command = [*pip, "install", "--quiet", "--no-deps", "--no-index", str(wheel)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return env / "bin"


def _environment() -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CONFORMANCE_")}
    environment.pop("PYTHONPATH", None)
    return environment


def conformance(bin_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(bin_dir / "conformance"), *args],
        cwd=cwd,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_wheel_ships_specs_catalogues_cassettes_and_templates(wheel: Path) -> None:
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for api in ("solvexia", "robocorp", "kognitos", "automation_runs"):
        assert f"conformance/_data/specs/{api}.yaml" in names
        assert f"conformance/_data/specs/quirks/{api}.yaml" in names
        assert f"conformance/_data/cassettes/mocks/{api}.yaml" in names
    assert "conformance/results/html/templates/report.html.j2" in names
    assert not [name for name in names if name.startswith(("tests/", "bench/", "specs/", "cassettes/"))]


def test_the_installed_command_lists_runs_and_replays_from_another_folder(
    installed: Path, tmp_path: Path
) -> None:
    where = subprocess.run(
        [
            str(installed / "python"),
            "-c",
            "import conformance.vendors.registry as a; print(a.__file__, a.CASSETTES_DIR)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert all(Path(path).is_relative_to(installed.parent) for path in where), where  # not the checkout
    cassettes = Path(where[1])

    # the run (the slow part) goes on while the quick commands are checked
    fast = ("--phases", "examples", "--max-examples", "1", "--seed", "1")
    run = subprocess.Popen(
        [str(installed / "conformance"), "run", "kognitos", *fast, "--report-dir", "run"],
        cwd=tmp_path,
        env=_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    version = conformance(installed, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stdout
    lines = version.stdout.splitlines()
    assert lines[0] == "conformance 0.1.0"
    assert [line.split()[0] for line in lines[1:]] == ["schemathesis", "hypothesis", "jsonschema"]

    listing = conformance(installed, "list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "kognitos: Kognitos REST API v2" in listing.stdout

    replay = conformance(
        installed,
        "replay",
        str(cassettes / "mocks" / "kognitos.yaml"),
        "--report-dir",
        "replay",
        cwd=tmp_path,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    replayed = json.loads((tmp_path / "replay" / "results.json").read_text())
    assert replayed["summary"]["cases"] > 0 and replayed["summary"]["new"] == 0

    bare = conformance(installed, cwd=tmp_path)
    assert bare.returncode == 2 and "usage: conformance" in bare.stderr
    assert "Traceback" not in bare.stderr

    output, _ = run.communicate(timeout=300)
    assert run.returncode == 0, output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert [api["api"] for api in results["apis"]] == ["kognitos"]
    assert results["summary"]["cases"] > 0
    assert (tmp_path / "run" / "index.html").stat().st_size > 0  # the templates came along
