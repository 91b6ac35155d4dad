"""stalib.workers: --jobs N or auto, one thread per worker process."""

from __future__ import annotations

import argparse

import pytest

from stalib import workers


def test_auto_is_every_core_on_a_cpu_and_half_on_a_gpu(monkeypatch):
    monkeypatch.setattr(workers, "usable_cores", lambda: 16)
    assert workers.resolve_jobs("auto", "cpu") == 16
    assert workers.resolve_jobs("auto", "cuda") == 8
    assert workers.resolve_jobs(3, "cuda") == 3
    monkeypatch.setattr(workers, "usable_cores", lambda: 1)
    assert workers.resolve_jobs("auto", "cuda") == 1


def test_jobs_argument_takes_a_count_or_auto():
    assert workers.jobs_arg("auto") == "auto" and workers.jobs_arg("4") == 4
    for bad in ("0", "-2", "two"):
        with pytest.raises(argparse.ArgumentTypeError):
            workers.jobs_arg(bad)


@pytest.mark.parametrize("command", [["cv", "--dataset", "sbu", "--model", "lstm"],
                                     ["reproduce"], ["rerun", "results/sbu/cv.csv"]])
def test_every_grid_command_takes_jobs_auto(command, capsys):
    from stalib.cli import build_parser

    assert build_parser().parse_args([*command, "--jobs", "auto"]).jobs == "auto"
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args([*command, "--jobs", "0"])
    assert stop.value.code == 2
    assert "--jobs: must be >= 1 (or auto), got 0" in capsys.readouterr().err
