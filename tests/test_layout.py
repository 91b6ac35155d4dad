"""The package's shape: no import cycle, the library below its report pipeline and its tooling.

``stalib/`` is the library (config, data, models, loss, train, experiment, results, predict,
distributed, errors); ``stalib/report/`` the report pipeline (the experiment grid and its
runner, the notebooks' helpers, tables, plots); ``stalib/tools/`` the development tooling
(benchmarks, reliability harness); ``stalib/cli.py`` and ``stalib/commands/`` the command line
over all three. Imports inside functions count like the others: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "stalib"

#: Arrows from the library up into the report pipeline that are allowed, with the reason: none
#: (``stalib predict --plot`` draws with the library's own figures, :mod:`stalib.plots`).
ALLOWED_UP: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The stalib modules ``name`` imports (``from stalib.x import y``: ``stalib.x.y`` when that
    is a module, else ``stalib.x``)."""
    tree = ast.parse(MODULES[name].read_text())
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                      for a in node.names}
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def layer(name: str) -> str:
    if name.startswith(("stalib.commands", "stalib.cli", "stalib.__main__")):
        return "cli"
    for part in ("report", "tools"):
        if name == f"stalib.{part}" or name.startswith(f"stalib.{part}."):
            return part
    return "library"


def test_no_import_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in sorted(GRAPH[name]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)


def test_the_library_is_below_the_report_pipeline_and_the_tools():
    allowed = {"library": {"library"}, "report": {"library", "report"},
               "tools": {"library", "tools"}, "cli": {"library", "report", "tools", "cli"}}
    wrong = sorted((name, dep) for name, deps in GRAPH.items() for dep in deps
                   if layer(dep) not in allowed[layer(name)] and (name, dep) not in ALLOWED_UP)
    assert not wrong, f"imports against the layers (library < report, tools < cli): {wrong}"



def test_the_layout_is_the_one_the_readme_describes():
    assert {layer(n) for n in MODULES} == {"library", "report", "tools", "cli"}
    for name in ("stalib.report.reproduce", "stalib.report.grid", "stalib.report.tables",
                 "stalib.report.plots", "stalib.tools.bench", "stalib.tools.reliability"):
        assert name in MODULES, name
    readme = (PACKAGE.parent / "README.md").read_text()
    for folder in ("stalib/report/", "stalib/tools/", "notebooks/"):
        assert folder in readme, folder
