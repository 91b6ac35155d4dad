"""environment.yml (for conda users) must parse and agree with requirements.txt and pyproject."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _requirements() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return {ln.split("#")[0].strip() for ln in lines if ln.split("#")[0].strip()}


def test_environment_yml_matches_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "stalib"
    assert "python=3.11" in env["dependencies"]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert set(pip) - {"-e ."} == _requirements()


def test_torch_and_jupyter_book_pinned():
    reqs = _requirements()
    assert "torch==2.13.0" in reqs  # the CPU wheel; anything else downloads CUDA
    assert "jupyter-book>=1,<2" in reqs  # 2.x fetches its theme from the network


def test_pyproject_runtime_dependencies_are_required():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    assert deps == _requirements()


def test_jupyterlab_is_in_the_environment():
    """Notebooks open interactively from the environment the README's commands build."""
    import shutil
    import sys

    assert "jupyterlab>=4" in _requirements()
    assert shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)), (
        "jupyter lab is not installed beside this interpreter")
