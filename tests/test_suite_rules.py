"""Rules of the test suite itself: it must pass on a loaded machine and show its progress."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# an assert on a measured duration: `assert time.perf_counter() - t0 < 3`, `assert elapsed < 10`
_TIMED = re.compile(r"^\s*assert\b.*(?:(?:perf_counter|monotonic|time)\(\)\s*-|\belapsed\b\s*<)")


def test_no_wall_clock_assertions():
    """A test that passes on an idle machine and fails on a busy one is a false alarm."""
    found = [f"{path.name}:{n}: {line.strip()}"
             for path in sorted(TESTS.glob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if _TIMED.search(line)]
    assert found == []


def test_make_test_shows_which_file_runs():
    """`make test` uses pytest's default output (one line per file), not -q's bare dots."""
    make = (REPO / "Makefile").read_text()
    configuration = make.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    pytest_line = next(line for line in configuration.splitlines() if "pytest" in line)
    assert " -q" not in pytest_line and "--quiet" not in pytest_line
    pyproject = (REPO / "pyproject.toml").read_text()
    assert not any("-q" in opts for opts in re.findall(r"addopts\s*=\s*(.*)", pyproject))


def test_ci_runs_the_readme_commands_in_order():
    """CI runs, on its clean clone, `make report` first and then `make test`, as a newcomer."""
    lines = [ln.strip() for ln in (REPO / ".ci" / "run").read_text().splitlines()
             if ln.strip().startswith("make ")]
    assert lines == ["make report", "make test"]
    readme = (REPO / "README.md").read_text()
    assert readme.index("make report") < readme.index("make test")
