"""``stalib reproduce``: skip logic, --force, failure naming, atomicity, the kernel, the grid.

The notebooks here are tiny throwaway ones written into tmp_path; each execution starts a real
``python3`` kernel through papermill (a few seconds each).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from stalib import cli
from stalib import reproduce as rp
from stalib.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def make_notebook(path: Path, body: str, defaults: str = "") -> Path:
    """A notebook with a ``parameters`` cell (``defaults``) and one code cell (``body``)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "results_dir = '.'\nresults_root = '.'\ndata_root = None\nquick = False\nforce = False\n"
        + defaults
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


# Writes its value and counts its executions in a file outside the results folder.
OK_BODY = """
import pathlib, sys
out = pathlib.Path(results_dir) / 'tables' / 'ok.txt'
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(f'{value}')
(pathlib.Path(results_dir) / 'tables' / 'python.txt').write_text(sys.prefix)
with open(counter, 'a') as f:
    f.write('run\\n')
"""
# Writes a new (partial) output, then raises.
BAD_BODY = """
import pathlib
out = pathlib.Path(results_dir) / 'tables' / 'ok.txt'
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text('partial')
raise RuntimeError('boom in the notebook')
"""


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    counter = tmp_path / "runs.log"
    make_notebook(root / "notebooks" / "ok.ipynb", OK_BODY,
                  defaults=f"value = 0\ncounter = {str(counter)!r}\n")
    make_notebook(root / "notebooks" / "bad.ipynb", BAD_BODY)
    jobs = [
        rp.Job("ok", "notebooks/ok.ipynb", {"value": 1}, outputs=("tables/ok.txt",),
               quick={"value": 99}),
        rp.Job("bad", "notebooks/bad.ipynb", {}, outputs=("tables/bad.txt",)),
    ]
    return root, tmp_path / "results", jobs, counter


def runs(counter: Path) -> int:
    return len(counter.read_text().splitlines()) if counter.exists() else 0


def by_name(outcomes):
    return {o.job.name: o for o in outcomes}


def test_kernel_python3_is_this_environment():
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(rp.KERNEL_NAME)
    exe = spec.argv[0]
    # jupyter_client runs a spec whose argv[0] is 'python' with the current interpreter
    assert exe in {"python", "python3", sys.executable}, spec.argv
    assert spec.language == "python"


def test_runs_then_skips_then_force(project):
    root, results, jobs, counter = project
    outcomes = by_name(rp.run_jobs(jobs, results, root=root, only=["ok"], log=lambda s: None))
    assert outcomes["ok"].status == "ran", outcomes["ok"].message
    assert (results / "tables" / "ok.txt").read_text() == "1"
    # the notebook ran in this environment's kernel
    assert (results / "tables" / "python.txt").read_text() == sys.prefix
    executed = nbformat.read(results / "notebooks" / "ok.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    stamp = json.loads((results / ".stamps" / "ok.json").read_text())
    assert stamp["parameters"] == {"value": 1}
    assert not (results / ".staging" / "ok").exists()
    assert (results / ".staging" / ".gitignore").read_text() == "*\n"
    assert runs(counter) == 1

    again = rp.run_jobs(jobs, results, root=root, only=["ok"], log=lambda s: None)
    assert again[0].status == "up-to-date" and runs(counter) == 1

    forced = rp.run_jobs(jobs, results, root=root, only=["ok"], force=True, log=lambda s: None)
    assert forced[0].status == "ran" and runs(counter) == 2

    # an output deleted by hand: the job runs again
    (results / "tables" / "ok.txt").unlink()
    assert rp.run_jobs(jobs, results, root=root, only=["ok"], log=lambda s: None)[0].status == "ran"
    assert runs(counter) == 3


def test_changed_parameters_or_notebook_rerun(project):
    root, results, jobs, counter = project
    rp.run_jobs(jobs, results, root=root, only=["ok"], log=lambda s: None)
    changed = [rp.Job("ok", "notebooks/ok.ipynb", {"value": 2}, outputs=("tables/ok.txt",))]
    assert rp.run_jobs(changed, results, root=root, log=lambda s: None)[0].status == "ran"
    assert (results / "tables" / "ok.txt").read_text() == "2"
    nb_path = root / "notebooks" / "ok.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("a note"))
    nbformat.write(nb, nb_path)
    assert rp.run_jobs(changed, results, root=root, log=lambda s: None)[0].status == "ran"
    assert runs(counter) == 3


def test_failure_keeps_earlier_results_and_goes_on(project):
    root, results, jobs, counter = project
    rp.run_jobs(jobs, results, root=root, only=["ok"], log=lambda s: None)
    before = (results / "notebooks" / "ok.ipynb").read_bytes()

    # the same job's notebook now fails after writing a partial output
    make_notebook(root / "notebooks" / "ok.ipynb", BAD_BODY)
    more = jobs + [rp.Job("ok2", "notebooks/ok2.ipynb", {"value": 3},
                          outputs=("tables/ok2.txt",))]
    make_notebook(root / "notebooks" / "ok2.ipynb",
                  OK_BODY.replace("ok.txt", "ok2.txt"),
                  defaults=f"value = 0\ncounter = {str(counter)!r}\n")
    outcomes = by_name(rp.run_jobs(more, results, root=root, log=lambda s: None))
    assert outcomes["ok"].status == "failed"
    assert "RuntimeError" in outcomes["ok"].message and "boom" in outcomes["ok"].message
    assert outcomes["bad"].status == "failed"
    assert outcomes["ok2"].status == "ran"  # later jobs still ran
    assert (results / "tables" / "ok2.txt").read_text() == "3"
    # earlier results intact: old output, old executed notebook, old stamp
    assert (results / "tables" / "ok.txt").read_text() == "1"
    assert (results / "notebooks" / "ok.ipynb").read_bytes() == before
    assert (results / "notebooks" / "ok.failed.ipynb").is_file()
    assert not (results / "notebooks" / ".ok.tmp.ipynb").exists()
    summary = rp.failure_summary(list(outcomes.values()))
    assert "2 of 3 job(s) failed" in summary
    assert "ok (notebooks/ok.ipynb)" in summary and "bad (notebooks/bad.ipynb)" in summary


def test_missing_declared_output_is_a_failure(project):
    root, results, _, _ = project
    make_notebook(root / "notebooks" / "quiet.ipynb", "x = 1")
    job = rp.Job("quiet", "notebooks/quiet.ipynb", outputs=("tables/never.txt",))
    out = rp.run_jobs([job], results, root=root, log=lambda s: None)[0]
    assert out.status == "failed" and "did not write tables/never.txt" in out.message
    assert not (results / "tables" / "never.txt").exists()
    assert not (results / ".stamps" / "quiet.json").exists()


def test_missing_notebook_and_missing_data(project, tmp_path):
    root, results, _, _ = project
    ghost = rp.Job("ghost", "notebooks/ghost.ipynb")
    assert "notebook not found" in rp.run_jobs([ghost], results, root=root,
                                               log=lambda s: None)[0].message
    needs = rp.Job("needs-ntu", "notebooks/ok.ipynb", {"value": 1}, requires=("NTU",))
    data = tmp_path / "data"
    data.mkdir()
    out = rp.run_jobs([needs], results, root=root, data_root=data, log=lambda s: None)[0]
    assert out.status == "skipped" and "NTU/" in out.message
    out = rp.run_jobs([needs], results, root=root, data_root=data, only=["needs-ntu"],
                      log=lambda s: None)[0]
    assert out.status == "failed"  # named explicitly: a failure, not a silent skip


def test_quick_parameters(project):
    root, results, jobs, _ = project
    rp.run_jobs(jobs, results, root=root, only=["ok"], quick=True, log=lambda s: None)
    assert (results / "tables" / "ok.txt").read_text() == "99"
    stamp = json.loads((results / ".stamps" / "ok.json").read_text())
    assert stamp["quick"] is True and stamp["parameters"] == {"value": 99}


def test_select_patterns():
    jobs = [rp.Job(n, "x.ipynb") for n in ("fig7-sbu", "fig7-ntu", "csta-sbu")]
    assert [j.name for j in rp.select(jobs, None)] == ["fig7-sbu", "fig7-ntu", "csta-sbu"]
    assert [j.name for j in rp.select(jobs, ["fig7"])] == ["fig7-sbu", "fig7-ntu"]
    assert [j.name for j in rp.select(jobs, ["*-sbu"])] == ["fig7-sbu", "csta-sbu"]
    assert [j.name for j in rp.select(jobs, ["csta-sbu", "fig7-ntu"])] == ["fig7-ntu",
                                                                           "csta-sbu"]
    with pytest.raises(ConfigError, match="matches no job"):
        rp.select(jobs, ["table9"])


def test_cli_names_failed_notebooks_and_exits_nonzero(project, monkeypatch, capsys):
    root, results, jobs, _ = project
    monkeypatch.setattr(rp, "JOBS", jobs)
    monkeypatch.setattr(rp, "project_root", lambda: root)
    status = cli.main(["reproduce", "--results", str(results)])
    captured = capsys.readouterr()
    assert status == 1
    assert "1 of 2 job(s) failed" in captured.err
    assert "bad (notebooks/bad.ipynb)" in captured.err and "boom" in captured.err
    assert "1 ran" in captured.out
    assert cli.main(["reproduce", "--results", str(results), "--only", "ok"]) == 0
    assert "1 up to date" in capsys.readouterr().out
    assert cli.main(["reproduce", "--results", str(results), "--list"]) == 0
    listing = capsys.readouterr().out
    assert "ok " in listing and "up to date" in listing


def test_cli_quick_never_writes_the_real_results(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(rp, "project_root", lambda: tmp_path)
    (tmp_path / "results").mkdir()
    status = cli.main(["reproduce", "--quick", "--results", str(tmp_path / "results")])
    assert status == 2
    assert "must not write into the real results" in capsys.readouterr().err


def test_the_grid_is_consistent():
    names = [j.name for j in rp.JOBS]
    assert len(names) == len(set(names))
    outputs = [o for j in rp.JOBS for o in j.outputs]
    assert len(outputs) == len(set(outputs)), "two jobs declare the same output"
    for job in rp.JOBS:
        assert job.notebook.startswith("notebooks/") and job.notebook.endswith(".ipynb")
        assert job.outputs and all(not Path(o).is_absolute() for o in job.outputs)
        assert set(job.quick) <= set(job.parameters) | {"n1", "n2", "seeds", "folds",
                                                        "max_sequences"}
        json.dumps(job.effective_parameters(True))  # papermill parameters are JSON
    assert rp.get_job("fig7-ntu").requires == ("NTU",)
    assert rp.get_job("fig7-sbu").command == "stalib reproduce --only fig7-sbu"
