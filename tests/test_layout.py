"""The README's Layout section is the package as it is: it names every subpackage and top-level
module of ``conformance/`` and nothing that is not there, each subpackage's line names each of its
modules, the layers it states are the ones import-linter enforces, and the test folders it names
are the ones mirroring a subpackage. And the house rule on size holds: no module of ``conformance/``
over 450 lines, no function (nested ones too) over 60."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "conformance"
#: The house rule on size. Nothing needs to be exempt: the command line's argument tables
#: (``cli/arguments.py``) fit in it too.
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 450, 60


def section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def entries(top: str) -> dict[str, str]:
    """The entries under ``top`` (``conformance/``, ``tests/``) of the section's listing, each as its
    first word and the rest of its text (its line, and the deeper-indented lines that go on with it)."""
    listing = section().split("```\n", 1)[1].split("```", 1)[0].splitlines()
    start = next(number for number, line in enumerate(listing) if line.split(" ", 1)[0] == top)
    found: dict[str, str] = {}
    name = ""
    for line in listing[start + 1 :]:
        if not line.startswith(" "):
            break
        if line.startswith("  ") and not line.startswith("   "):
            name, _, what = line.strip().partition(" ")
            found[name] = what.strip()
        elif name:
            found[name] += " " + line.strip()
    return found


def holds_something(directory: Path) -> bool:
    """A folder a move left nothing in but bytecode caches is not part of the package."""
    return any(path.name != "__pycache__" for path in directory.iterdir())


def on_disk() -> set[str]:
    """Every top-level module and folder of ``conformance/`` and every subpackage at any depth,
    relative to it (``results/html/``)."""
    found = {path.name for path in PACKAGE.glob("*.py")}
    found |= {f"{path.name}/" for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"}
    found |= {f"{init.parent.relative_to(PACKAGE).as_posix()}/" for init in PACKAGE.glob("*/**/__init__.py")}
    return {name for name in found if not name.endswith("/") or holds_something(PACKAGE / name)}


def test_the_layout_names_every_subpackage_and_top_level_module_and_nothing_else() -> None:
    named, present = set(entries("conformance/")), on_disk()
    assert not present - named, f"under conformance/, not in the README's Layout: {sorted(present - named)}"
    assert not named - present, f"in the README's Layout, not under conformance/: {sorted(named - present)}"


def test_each_subpackage_line_names_each_of_its_modules() -> None:
    missing = [
        f"{name}{module.name}"
        for name, what in entries("conformance/").items()
        if (PACKAGE / name / "__init__.py").exists()
        for module in sorted((PACKAGE / name).glob("*.py"))
        if module.stem != "__init__" and not re.search(rf"\b{module.stem}\b", what)
    ]
    assert not missing, f"modules the README's Layout does not name on their subpackage's line: {missing}"


def test_the_layers_stated_are_the_layers_enforced() -> None:
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = next(contract["layers"] for contract in contracts if contract["type"] == "layers")
    stated = " > ".join(f"`{layer.replace('conformance.', '')}`" for layer in layers)
    assert stated in " ".join(section().split()), stated


def test_the_test_folders_named_are_those_mirroring_a_subpackage() -> None:
    line = entries("tests/")["<subpackage>/"]
    named = set(re.findall(r"(\w+)/", line))
    mirrors = {
        path.name
        for path in (ROOT / "tests").iterdir()
        if path.is_dir() and (PACKAGE / path.name / "__init__.py").exists()
    }
    assert named == mirrors


def modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py") if "__pycache__" not in path.parts)


def test_no_module_is_over_the_house_limit() -> None:
    long = {
        path.relative_to(ROOT).as_posix(): lines
        for path in modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_no_function_is_over_the_house_limit() -> None:
    """Every function and method, nested ones included, from its ``def`` line to its last."""
    long = [
        f"{path.relative_to(ROOT).as_posix()}:{node.lineno} {node.name} ({length} lines)"
        for path in modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"
