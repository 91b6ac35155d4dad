"""``stalib reproduce``: skip logic, --force and --retrain, failure naming, atomicity, the
kernel, the grid.

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
from stalib.config import CONFIGURATIONS
from stalib.errors import ConfigError
from stalib.report import reproduce as rp

GAIN = {"configuration": "r1-view-gain", **CONFIGURATIONS["r1-view-gain"]}
VIEW = CONFIGURATIONS["r1-view"]

REPO = Path(__file__).resolve().parents[1]


def make_notebook(path: Path, body: str, defaults: str = "") -> Path:
    """A notebook with a ``parameters`` cell (``defaults``) and one code cell (``body``)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "results_dir = '.'\nresults_root = '.'\ndata_root = None\nquick = False\nretrain = False\n"
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
    f.write(f'run retrain={retrain}\\n')
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


def counter_lines(root: Path) -> list[str]:
    """What the ``ok`` notebook of the ``project`` fixture logged, one line per execution."""
    return (root.parent / "runs.log").read_text().splitlines()


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
    # --force runs the notebook again but does not tell it to train its runs again
    assert counter.read_text().splitlines()[-1] == "run retrain=False"
    retrained = rp.run_jobs(jobs, results, root=root, only=["ok"], retrain=True,
                            log=lambda s: None)
    assert retrained[0].status == "ran" and runs(counter) == 3  # implies --force
    assert counter.read_text().splitlines()[-1] == "run retrain=True"

    # an output deleted by hand: the job runs again
    (results / "tables" / "ok.txt").unlink()
    assert rp.run_jobs(jobs, results, root=root, only=["ok"], log=lambda s: None)[0].status == "ran"
    assert runs(counter) == 4


# Appends a row to the one results file, after the chain's earlier job (if any) wrote its own.
CHAIN_BODY = """
import pathlib, time
from stalib.results import KEY, append_record, RunRecord
res = pathlib.Path(results_dir)
if after:
    assert (pathlib.Path(results_root) / 'tables' / f'{after}.txt').is_file(), 'out of order'
time.sleep(1)
(res / 'tables').mkdir(parents=True, exist_ok=True)
(res / 'tables' / f'{name}.txt').write_text(str(threads))
append_record(res / 'sbu' / 'cv.csv', RunRecord(
    dataset='sbu', protocol='5fold', configuration='v', model=name, fold=1, seed=0, accuracy=0.5,
    train_accuracy=1.0, n_test=1, n_train=1, iterations=1, wall_time_s=0.0, device='cpu',
    git_commit='x', timestamp='t', params='{}', versions='{}'))
"""


def test_jobs_side_by_side_keep_each_chain_in_order(tmp_path, monkeypatch):
    """--jobs 2: two chains at once; within a chain the second job runs after the first and
    sees its outputs; every job's row lands in the one cv.csv; outcomes in the grid's order;
    a job that leaves its threads to torch keeps the portable mode's one thread (threads None),
    and gets cores/2 under --native."""
    import os

    from stalib.results import read_records

    root, results = tmp_path / "project", tmp_path / "results"
    make_notebook(root / "notebooks" / "chain.ipynb", CHAIN_BODY,
                  defaults="name = 'a'\nafter = None\nthreads = None\n")
    jobs = [rp.Job(n, "notebooks/chain.ipynb", {"name": n, "after": a},
                   outputs=(f"tables/{n}.txt", "sbu/cv.csv"), chain=c)
            for n, a, c in (("a1", None, "A"), ("b1", None, "B"), ("a2", "a1", "A"),
                            ("b2", "b1", "B"))]
    outcomes = rp.run_jobs(jobs, results, root=root, workers=2, log=lambda s: None)
    assert [o.job.name for o in outcomes] == ["a1", "b1", "a2", "b2"]
    assert all(o.status == "ran" for o in outcomes), [o.message for o in outcomes]
    rows = read_records(results / "sbu" / "cv.csv")
    assert sorted(r["model"] for r in rows) == ["a1", "a2", "b1", "b2"]
    assert (results / "tables" / "a1.txt").read_text() == "None"
    from stalib import determinism

    monkeypatch.setenv(determinism.MARK, determinism.NATIVE)
    native = rp.run_jobs(jobs[:1], tmp_path / "native", root=root, workers=2,
                         log=lambda s: None)
    assert native[0].status == "ran", native[0].message
    assert (tmp_path / "native" / "tables" / "a1.txt").read_text() == str(
        max(1, os.cpu_count() // 2))
    with pytest.raises(ConfigError, match="`jobs` must be >= 1"):
        rp.run_jobs(jobs, results, root=root, workers=0, log=lambda s: None)


SUMMARY_BODY = """
import pathlib
from stalib.results import read_records
res, src = pathlib.Path(results_dir), pathlib.Path(results_root) / 'sbu' / 'cv.csv'
(res / 'tables').mkdir(parents=True, exist_ok=True)
(res / 'tables' / 'summary.txt').write_text(str(len(read_records(src)) if src.is_file() else 0))
"""


def test_a_job_that_summarises_results_runs_after_every_other(tmp_path):
    """--jobs 2: a job that reads cv.csv (errors-*) waits for every chain, even listed first,
    so that it summarises all their rows and a second run finds it up to date."""
    root, results = tmp_path / "project", tmp_path / "results"
    make_notebook(root / "notebooks" / "chain.ipynb", CHAIN_BODY,
                  defaults="name = 'a'\nafter = None\nthreads = None\n")
    make_notebook(root / "notebooks" / "summary.ipynb", SUMMARY_BODY, defaults="")
    summary = rp.Job("s", "notebooks/summary.ipynb", {}, outputs=("tables/summary.txt",),
                     reads=("sbu/cv.csv",))
    jobs = [summary, *(rp.Job(n, "notebooks/chain.ipynb", {"name": n},
                              outputs=(f"tables/{n}.txt", "sbu/cv.csv"), chain=n)
                       for n in ("a1", "b1", "c1"))]
    chains, summaries = rp.phases(jobs)
    assert list(chains) == ["a1", "b1", "c1"] and summaries == [summary]
    outcomes = rp.run_jobs(jobs, results, root=root, workers=2, log=lambda s: None)
    assert [o.job.name for o in outcomes] == ["s", "a1", "b1", "c1"]
    assert all(o.status == "ran" for o in outcomes), [o.message for o in outcomes]
    assert (results / "tables" / "summary.txt").read_text() == "3"
    again = rp.run_jobs(jobs, results, root=root, workers=2, log=lambda s: None)
    assert {o.status for o in again} == {"up-to-date"}


def test_jobs_that_share_sta_lstm_runs_are_one_chain():
    """A CSTA or attention job reads the STA-LSTM runs a Fig. 7 job of its chain trains, and
    comes after it in the grid."""
    names = [j.name for j in rp.JOBS]
    for job in rp.JOBS:
        if job.notebook in ("notebooks/csta.ipynb", "notebooks/attention.ipynb"):
            trainers = [j for j in rp.JOBS if j.chain == job.chain
                        and j.notebook == "notebooks/fig7.ipynb"]
            assert trainers, job.name
            assert all(names.index(t.name) < names.index(job.name) for t in trainers)
    assert rp.get_job("csta-sbu-r1-view").chain == rp.get_job("fig7-sbu-r1-view-gain").chain
    assert rp.get_job("attention-sbu").chain == rp.get_job("fig7-sbu").chain
    assert rp.get_job("fig7-utkinect-loso").chain != rp.get_job("fig7-utkinect").chain


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
    jobs.append(rp.Job("fig7-sbu-l1-off", "x.ipynb"))
    assert [j.name for j in rp.select(jobs, ["fig7-sbu"])] == ["fig7-sbu"]  # exact: alone
    assert [j.name for j in rp.select(jobs, ["fig7-sbu-*"])] == ["fig7-sbu-l1-off"]
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
    assert cli.main(["reproduce", "--results", str(results), "--only", "ok", "--retrain"]) == 0
    assert "1 ran" in capsys.readouterr().out
    assert counter_lines(root)[-1] == "run retrain=True"


def test_cli_quick_never_writes_the_real_results(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(rp, "project_root", lambda: tmp_path)
    (tmp_path / "results").mkdir()
    status = cli.main(["reproduce", "--quick", "--results", str(tmp_path / "results")])
    assert status == 2
    assert "must not write into the real results" in capsys.readouterr().err


def test_the_grid_is_consistent():
    names = [j.name for j in rp.JOBS]
    assert len(names) == len(set(names))
    owners: dict[str, list[str]] = {}
    for job in rp.JOBS:
        assert len(job.outputs) == len(set(job.outputs)), job.name
        for o in job.outputs:
            owners.setdefault(o, []).append(job.name)
    # the only outputs two jobs share are the results files, one per dataset, which the Fig. 7 jobs
    # (one per configuration, and the long grids) and the CSTA job of that dataset append to
    shared = {o: sorted(j) for o, j in owners.items() if len(j) > 1}
    # (a dataset that chose nothing has no paper-settings jobs: the chosen configurations only)
    assert shared == {f"{ds}/cv.csv": sorted(
        ([] if ds in rp.OUT_OF_SAMPLE else [f"csta-{s}", f"fig7-{s}"])
        + [f"fig7-{s}-{o['configuration']}" for o in rp.VALIDATED.get(ds, [])]
        + [f"csta-{s}-{e['options']['configuration']}" for e in rp.CSTA_VALIDATED.get(ds, [])]
        + [f"fig7-{name}" for name, g in rp.LONG_GRIDS.items() if g["dataset"] == ds])
        for ds, s in rp.SHORT.items()}
    # besides them, only the per-class summary of the errors job, which it replaces whole
    assert not any(o.endswith(".csv") and o.rsplit("/", 1)[-1] not in ("cv.csv", rp.PER_CLASS)
                   for o in owners)
    for job in rp.JOBS:
        assert job.notebook.startswith("notebooks/") and job.notebook.endswith(".ipynb")
        assert (REPO / job.notebook).is_file(), job.notebook
        assert job.outputs and all(not Path(o).is_absolute() for o in job.outputs)
        assert set(job.quick) <= set(job.parameters) | {"n1", "n2", "seeds", "folds", "threads"}
        json.dumps(job.effective_parameters(True))  # papermill parameters are JSON
    assert rp.get_job("fig7-ntu").requires == ("NTU",)
    assert rp.get_job("fig7-sbu").command == "stalib reproduce --only fig7-sbu"


def test_configuration_configurations_are_jobs_and_run_one_epoch_when_quick():
    """Issue 12's configuration: the Fig. 7 grid of SBU and UTKinect at ``r1-view-gain``, the CSTA
    grid at ``r1-view`` against it; a quick run trains one epoch of each (the reference too), so
    that its STA-LSTM is the one the quick Fig. 7 job trained."""
    fig7 = rp.get_job("fig7-sbu-r1-view-gain")
    assert fig7.parameters["options"] == GAIN
    assert fig7.parameters["options"]["model_overrides"] == {"alpha_gain": "joints"}
    quick = fig7.effective_parameters(True)
    assert quick["options"] == {**GAIN, "epochs": rp.QUICK_EPOCHS}
    assert fig7.parameters["options"]["epochs"] == 150  # the job itself is untouched
    assert "chosen on SBU validation" in rp.get_job("fig7-utkinect-r1-view-gain").description
    csta = rp.get_job("csta-sbu-r1-view").effective_parameters(True)
    assert csta["options"] == {"configuration": "r1-view", **VIEW, "epochs": rp.QUICK_EPOCHS}
    assert csta["reference_options"] == quick["options"]
    att = rp.get_job("attention-sbu-r1-view-gain").effective_parameters(True)
    assert att["options"]["epochs"] == rp.QUICK_EPOCHS
    assert "options" not in rp.get_job("fig7-sbu-l1-off").quick  # no epochs: N1/N2 bound it


def test_the_grid_of_the_issue():
    fig7 = rp.get_job("fig7-sbu").parameters
    assert fig7["models"] == ["lstm", "sa-lstm-noreg", "sa-lstm", "ta-lstm-noreg", "ta-lstm",
                              "sta-lstm"]
    assert (fig7["protocols"], fig7["seeds"], fig7["folds"]) == (["5fold"], [0, 1, 2], "all")
    assert (fig7["n1"], fig7["n2"]) == (1000, 500)
    # the validated configuration: the same grid, its settings named and recorded in the options
    l1 = rp.get_job("fig7-sbu-l1-off").parameters
    assert l1["options"] == {"configuration": "l1-off", "lambda3": 0.0}
    assert {k: v for k, v in l1.items() if k not in ("options", "figure")} == {
        k: v for k, v in fig7.items() if k != "figure"}
    assert (fig7["figure"], l1["figure"]) == ("figures/fig7-sbu.png",
                                              "figures/fig7-sbu-l1-off.png")
    assert rp.get_job("fig7-sbu-l1-off").outputs == ("sbu/cv.csv", "figures/fig7-sbu-l1-off.png")
    csta = rp.get_job("csta-sbu").parameters
    assert csta["models"] == ["hcn", "hcn-joint", "hcn-frame", "csta-cnn"]
    assert csta["seeds"] == [0, 1, 2] and csta["action"] == "kicking"
    assert csta["figure"] == "figures/csta-sbu-coupled.png" and "reference_options" not in csta
    # the CSTA configuration chosen on validation folds, against STA-LSTM's chosen Fig. 7
    # configuration
    aug = rp.get_job("csta-sbu-aug")
    assert aug.parameters["options"] == {"configuration": "aug", "augment_rotation": 30.0,
                                         "augment_scale": 0.1}
    assert aug.parameters["reference_options"] == rp.VALIDATED["sbu"][1]
    assert aug.parameters["reference_options"]["configuration"] == "l1-off-aug"
    assert aug.outputs == ("sbu/cv.csv", "figures/csta-sbu-aug-coupled.png")
    assert aug.parameters["figure"] == aug.outputs[1]
    assert {k: v for k, v in aug.parameters.items()
            if k not in ("options", "reference_options", "figure")} == {
        k: v for k, v in csta.items() if k != "figure"}
    # it draws the STA-LSTM of that configuration: the Fig. 7 job that trains it runs first
    assert names_before("csta-sbu-aug").issuperset({"fig7-sbu-l1-off-aug"})
    utk = rp.get_job("fig7-utkinect")  # cross-subject: one fold, so all six models
    assert utk.parameters["models"] == list(rp.FIG7_MODELS)
    assert (utk.parameters["protocols"], utk.parameters["seeds"]) == (["xsub"], [0, 1, 2])
    assert utk.quick["folds"] == [1] and utk.quick["seeds"] == [0]
    loso = rp.get_job("fig7-utkinect-loso")  # 199 folds: a job of its own
    assert loso.parameters["models"] == ["lstm", "sta-lstm"]
    assert (loso.parameters["protocols"], loso.parameters["seeds"]) == (["loso"], [0])
    assert loso.parameters["folds"] == "all" and loso.quick["folds"] == {"loso": [1, 2]}
    assert loso.outputs == ("utkinect/cv.csv", "figures/fig7-utkinect-loso.png")
    assert loso.parameters["figure"] == "figures/fig7-utkinect-loso.png"
    # the data job describes every protocol a job uses
    assert rp.get_job("data-utkinect").parameters["protocols"] == ["xsub", "loso"]
    assert rp.get_job("csta-utkinect").parameters["protocols"] == ["xsub"]
    assert rp.get_job("csta-utkinect").quick["folds"] == [1]
    # UTKinect, kept out of development, runs SBU's last choices: HCN's r1-view against
    # STA-LSTM's r1-view-gain
    utk_csta = rp.get_job("csta-utkinect-r1-view")
    assert utk_csta.parameters["options"] == {"configuration": "r1-view", **VIEW}
    assert utk_csta.parameters["reference_options"] == GAIN
    assert utk_csta.chain == rp.get_job("fig7-utkinect-r1-view-gain").chain
    for name in ("fig7-ntu", "csta-ntu"):
        job = rp.get_job(name)
        assert job.parameters["protocols"] == ["xsub", "xview"] and job.parameters["seeds"] == [0]
        assert job.requires == ("NTU",)
    quick = rp.get_job("fig7-sbu").effective_parameters(True)
    assert (quick["seeds"], quick["folds"], quick["n1"], quick["n2"]) == ([0], [1], 20, 10)
    attention = rp.get_job("attention-sbu")
    assert "attention/sbu-kicking.json" in attention.outputs
    assert (attention.parameters["folds"], attention.parameters["seeds"]) == ([1], [0])
    # the attention job reads the STA-LSTM of the Fig. 7 grid: it runs after it
    assert names_before("attention-sbu").issuperset({"fig7-sbu"})
    # and the validated configuration's attention reads that configuration's STA-LSTM
    validated = rp.get_job("attention-sbu-l1-off")
    assert validated.parameters["options"] == rp.VALIDATED["sbu"][0]
    assert rp.get_job("attention-sbu-l1-off-aug").parameters["options"]["augment_rotation"] == 30
    assert "attention/sbu-l1-off-kicking.json" in validated.outputs
    assert "figures/attention-sbu-l1-off-fig6.png" in validated.outputs
    assert names_before("attention-sbu-l1-off").issuperset({"fig7-sbu-l1-off"})


def names_before(name: str) -> set[str]:
    names = [j.name for j in rp.JOBS]
    return set(names[: names.index(name)])


# Appends one row to <results_dir>/sbu/cv.csv (as the Fig. 7 and CSTA notebooks do), and
# records where its runs would go.
APPEND_BODY = """
import pathlib
from stalib.results import RunRecord, append_record
rec = RunRecord(dataset='sbu', protocol='5fold', configuration='paper', model=model, fold=1, seed=0,
                accuracy=0.5, train_accuracy=0.5, n_test=1, n_train=1, iterations=1,
                wall_time_s=0.0, device='cpu', git_commit='x', timestamp='t', params='{}',
                versions='{}')
append_record(pathlib.Path(results_dir) / 'sbu' / 'cv.csv', rec, replace=retrain)
out = pathlib.Path(results_dir) / 'where' / f'{model}.txt'
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(runs_root)
"""


def record(model: str, accuracy: float = 0.5):
    from stalib.results import RunRecord

    return RunRecord(dataset="sbu", protocol="5fold", configuration="paper", model=model, fold=1,
                     seed=0,
                     accuracy=accuracy, train_accuracy=0.5, n_test=1, n_train=1, iterations=1,
                     wall_time_s=0.0, device="cpu", git_commit="x", timestamp="t", params="{}",
                     versions="{}")


def test_two_jobs_append_to_one_results_file(tmp_path):
    from stalib.results import append_record, read_records

    root = tmp_path / "project"
    make_notebook(root / "notebooks" / "append.ipynb", APPEND_BODY,
                  defaults="model = 'lstm'\nruns_root = None\n")
    jobs = [rp.Job(f"job-{m}", "notebooks/append.ipynb", {"model": m},
                   outputs=("sbu/cv.csv", f"where/{m}.txt")) for m in ("lstm", "hcn")]
    results = tmp_path / "results"
    csv = results / "sbu" / "cv.csv"
    append_record(csv, record("sta-lstm", 0.9))  # e.g. written by `stalib cv` before
    outcomes = rp.run_jobs(jobs, results, root=root, log=lambda s: None)
    assert [o.status for o in outcomes] == ["ran", "ran"], [o.message for o in outcomes]
    assert sorted(r["model"] for r in read_records(csv)) == ["hcn", "lstm", "sta-lstm"]
    # runs go to <project>/runs by default, to --runs DIR when given, under --quick into the
    # results folder
    assert (results / "where" / "lstm.txt").read_text() == str(root / "runs")
    again = rp.run_jobs(jobs[:1], results, root=root, retrain=True, runs_root=tmp_path / "r",
                        log=lambda s: None)
    assert again[0].status == "ran", again[0].message
    assert (results / "where" / "lstm.txt").read_text() == str(tmp_path / "r")
    quick = tmp_path / "quick"
    rp.run_jobs(jobs[:1], quick, root=root, quick=True, log=lambda s: None)
    assert (quick / "where" / "lstm.txt").read_text() == str(quick / rp.QUICK_RUNS)


def test_publishing_keeps_rows_written_meanwhile(tmp_path):
    from stalib.results import append_record, read_records

    staged, dest = tmp_path / "staging" / "cv.csv", tmp_path / "results" / "cv.csv"
    append_record(staged, record("lstm", 0.5))
    append_record(staged, record("hcn", 0.7))
    append_record(dest, record("hcn", 0.1))  # a stale row: the staged one wins
    append_record(dest, record("sta-lstm", 0.9))  # appended by another process meanwhile
    rp.merge_results(staged, dest)
    rows = {r["model"]: float(r["accuracy"]) for r in read_records(dest)}
    assert rows == {"lstm": 0.5, "hcn": 0.7, "sta-lstm": 0.9}
    assert not staged.exists()
    assert list(dest.parent.glob("*.tmp")) == []



def test_a_job_that_reads_the_rows_is_out_of_date_when_they_change(tmp_path):
    """Job.reads: the errors job summarises cv.csv, so a new row makes it run again."""
    job = rp.get_job("errors-sbu")
    assert job.reads == ("sbu/cv.csv",) and job.outputs == ("sbu/per_class.csv",)
    notebook = REPO / job.notebook
    empty = rp.job_hash(job, notebook, False, tmp_path)
    (tmp_path / "sbu").mkdir()
    (tmp_path / "sbu" / "cv.csv").write_text("dataset,protocol\n")
    one = rp.job_hash(job, notebook, False, tmp_path)
    assert one != empty and one == rp.job_hash(job, notebook, False, tmp_path)
    (tmp_path / "sbu" / "cv.csv").write_text("dataset,protocol\nsbu,5fold\n")
    assert rp.job_hash(job, notebook, False, tmp_path) != one
    # a job that reads nothing keeps its hash whatever the results hold
    fig7 = rp.get_job("fig7-sbu")
    assert rp.job_hash(fig7, REPO / fig7.notebook, False, tmp_path) == rp.job_hash(
        fig7, REPO / fig7.notebook, False)
    # the errors jobs come after every job that trains (a full run summarises all rows)
    names = [j.name for j in rp.JOBS]
    trains = [i for i, j in enumerate(rp.JOBS) if "models" in j.parameters]
    assert min(names.index(f"errors-{s}") for s in rp.SHORT.values()) > max(trains)


def test_a_plain_reproduce_names_the_long_jobs_and_waits_for_yes(data_root, monkeypatch,
                                                                  capsys, tmp_path):
    """`stalib reproduce` with no option once started a 35-hour job without a word. The
    committed UTKinect rows without STA-LSTM's leave-one-sequence-out runs: that grid is half
    done, and the LSTM's rows give its pace."""
    import pandas as pd

    from stalib.cli import main
    from stalib.commands import reproduce as cmd

    repo = Path(__file__).resolve().parents[1]
    rows = pd.read_csv(repo / "results" / "utkinect" / "cv.csv", dtype=str,
                       keep_default_na=False)
    (tmp_path / "utkinect").mkdir()
    rows[~((rows["protocol"] == "loso") & (rows["model"] == "sta-lstm"))].to_csv(
        tmp_path / "utkinect" / "cv.csv", index=False)
    long = cmd._long_jobs(rp.JOBS, tmp_path, data_root, repo, force=False)
    assert long
    name, progress = next(j for j in long if j[0].startswith("fig7-utkinect-loso-"))
    ran = []
    monkeypatch.setattr(rp, "run_jobs", lambda *a, **k: ran.append(k) or [])
    monkeypatch.setenv("STALIB_DATA", str(data_root))
    assert main(["reproduce", "--results", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert f"{name}: {progress}" in captured.out and " h left" in progress
    assert "pass --yes to start them all, or --only NAME for one" in captured.err
    assert ran == []
    assert main(["reproduce", "--yes"]) == 0 and len(ran) == 1
