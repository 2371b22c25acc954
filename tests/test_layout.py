"""The package reads like the pipeline: stages import one way, and no module imports itself back.

Every import of a bopbot module is found in the source (including the ones inside functions,
which keep heavy libraries out of `--help`), so the rules hold for what runs, not only for what
loads first.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bopbot"

#: What any module may use: errors, atomic files, checked reading, the read-ahead thread, starting worker processes.
#: They import nothing else of ours.
PLUMBING = {"errors", "files", "reading", "ahead", "workers"}
#: The stages each stage may import, in the order data flows (see the package's docstring).
STAGES = {
    "data": set(),
    "ingest": {"data"},
    "music": {"data"},
    "vocabulary": {"data"},
    "models": {"data", "music", "vocabulary"},
    "choreography": {"data", "ingest", "music", "vocabulary", "models"},
    "evaluation": {"data", "ingest", "music", "vocabulary", "models", "choreography"},
    "app": {"data", "ingest", "music", "vocabulary", "models", "choreography", "evaluation"},
}


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name relative to bopbot ("" for bopbot itself)."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The bopbot modules that module `name` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([node.module] if node.module else []))
            elif node.module == "bopbot" or node.module.startswith("bopbot."):
                base = node.module[len("bopbot."):] if node.module != "bopbot" else ""
            else:
                continue
            for alias in node.names:
                child = f"{base}.{alias.name}" if base else alias.name
                found.add(child if child in modules else base)
        elif isinstance(node, ast.Import):
            found |= {a.name[len("bopbot."):] for a in node.names if a.name.startswith("bopbot.")}
    return found - {name}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _stage(module: str) -> str:
    return module.split(".")[0]


def test_every_import_names_a_module_that_exists(graph):
    modules = set(graph)
    missing = sorted(f"{name} imports {target}" for name, targets in graph.items() for target in targets
                     if target not in modules)
    assert not missing, missing


def test_stages_import_only_the_stages_before_them(graph):
    wrong = []
    for name, targets in graph.items():
        if name in ("", "__main__"):
            continue
        stage = _stage(name)
        allowed = set() if stage in PLUMBING else STAGES[stage] | {stage}
        for target in targets:
            if _stage(target) not in PLUMBING | allowed:
                wrong.append(f"{name} -> {target}")
    assert not wrong, wrong
    assert set(STAGES) | PLUMBING | {"__main__", "default_model"} >= {_stage(n) for n in graph if n}


def test_no_module_imports_itself_back(graph):
    """A depth-first search over every import finds no cycle."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError(" -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            visit(target, path + [name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def test_our_packaging_is_read_without_deprecation_warnings():
    """`make install` installs BopBot with setuptools: pyproject.toml must not make it warn."""
    import warnings

    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        metadata = apply_configuration(Distribution(), Path(__file__).resolve().parents[1] / "pyproject.toml").metadata
    assert metadata.name == "bopbot" and metadata.license_expression == "MIT"
