"""The house a newcomer can change: the experiments written once (the catalogue), functions of a
screen, a report layer smaller than the library, and a trainer that is only the trainer (the
layers themselves: tests/test_layout.py)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from stalib import catalogue

PACKAGE = Path(__file__).resolve().parents[1] / "stalib"


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > 80:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({n})")
    assert long == []


def test_the_report_layer_and_the_trainer_stay_small():
    report = sum(_lines(p) for p in (PACKAGE / "report").glob("*.py"))
    assert report < 3500, f"stalib/report/ is {report} lines"
    assert _lines(PACKAGE / "train.py") < 450


def test_no_configuration_family_or_model_list_is_written_outside_the_catalogue():
    """verdict.py, reproduce.py, selection.py and pooled.py name no configuration and spell out no
    Fig. 7 model list: they read the catalogue."""
    configurations = sorted(catalogue.CONFIGURATIONS, key=len, reverse=True)
    quoted = re.compile(r"[\"'](" + "|".join(map(re.escape, configurations)) + r")[\"']")
    fig7 = re.compile(r"[\"']lstm[\"'],\s*[\"']sa-lstm-noreg[\"']")
    for name in ("verdict.py", "reproduce.py", "selection.py", "pooled.py"):
        text = (PACKAGE / "report" / name).read_text()
        assert not quoted.findall(text), (name, quoted.findall(text))
        assert not fig7.search(text), name


#: Flags of other tools that a library error may name (torchrun's, pip's).
OTHER_TOOLS_FLAGS = ("--nproc_per_node", "--sys-prefix")


def test_library_errors_name_arguments_not_flags():
    """The library's errors name an argument as Python does (`` `lr` ``); only the CLI
    (``stalib/cli.py``, ``stalib/commands/``) writes flags, translating them
    (:func:`stalib.errors.in_flags`)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "commands" in path.parts or path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and node.exc is not None:
                for s in ast.walk(node.exc):
                    if isinstance(s, ast.Constant) and isinstance(s.value, str):
                        flags = set(re.findall(r"(?<![\w-])--[a-z][\w-]*", s.value))
                        flags -= set(OTHER_TOOLS_FLAGS)
                        if flags and "stalib " not in s.value:
                            found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} "
                                         f"{sorted(flags)}")
    assert not found, found


#: The imports that may sit inside a function, each with its measured reason (seconds on this
#: 2-core machine, after the modules every ``stalib`` command loads to build its parser).
LAZY_IMPORTS = {
    "matplotlib": "0.35 s: only the commands and pages that draw pay for it",
    "papermill": "1.25 s: only `stalib reproduce` and the rehearsal run notebooks",
    "statsmodels": "0.15 s at every command (the report's statistics are loaded to build "
                   "the parser)",
    "stalib.predict": "0.35 s at every command: it draws with matplotlib",
    "stalib.report.diagnosis": "0.35 s at every command: its figures use matplotlib",
    "torch": "stalib.determinism and stalib.workers: the deterministic mode must be set "
             "before torch is first imported",
    "numpy": "stalib.determinism reads numpy's CPU features only when asked",
    "tqdm": "tqdm.auto warns, when imported in a Jupyter kernel without ipywidgets, on every "
            "book page that imports the library: imported when a bar is drawn",
    "stalib.determinism": "the CLI re-executes itself in the portable mode before loading "
                          "anything else",
}


def test_imports_sit_at_the_top_unless_measured():
    """An import inside a function is one of :data:`LAZY_IMPORTS`, each with its reason."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        inner = {node for fn in ast.walk(tree)
                 if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                 for node in ast.walk(fn)}
        for node in inner:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                if isinstance(node, ast.ImportFrom) and node.module == "stalib" and [
                        a.name for a in node.names] == ["determinism"]:
                    continue
                names = ([node.module] if isinstance(node, ast.ImportFrom)
                         else [a.name for a in node.names])
                if not all(n.split(".")[0] in LAZY_IMPORTS or n in LAZY_IMPORTS
                           for n in names if n):
                    found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {names}")
    assert not found, found
