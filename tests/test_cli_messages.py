"""What the commands say: help that names every choice, and run summaries a user can act on."""

from __future__ import annotations

import numpy as np
import pytest

from stalib.cli import build_parser, main
from stalib.commands.train import short_run_note
from stalib.data.utkinect import LABEL_FILE_CHOICES

REPO_README = __import__("pathlib").Path(__file__).resolve().parents[1] / "README.md"


def _help(*command: str) -> str:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    p = sub.choices[command[0]]
    for name in command[1:]:
        p = next(a for a in p._actions if a.dest == "data_command").choices[name]
    return " ".join(p.format_help().split())


@pytest.mark.parametrize("command", ["train", "cv"])
def test_run_help_names_every_protocol_and_preprocessing(command):
    text = _help(command)
    for protocols in ("sbu 5fold", "utkinect xsub|loso", "ntu60 xsub|xview",
                      "npz provided|folds|5fold|loso"):
        assert protocols in text
    for cls in ("SBUPreprocess", "UTKinectPreprocess", "NTUPreprocess", "NpzPreprocess"):
        assert cls in text
    assert "an STA-LSTM run is 5 x N1 + 3 x N2 iterations (6500 by default)" in text


def test_readme_says_npz_is_not_preprocessed_and_what_n1_n2_mean():
    readme = " ".join(REPO_README.read_text().split())
    assert "No preprocessing is applied to an npz by default" in readme
    assert "5 x N1 + 3 x N2 iterations" in readme


def test_short_runs_are_flagged_by_one_rule():
    from stalib.config import TrainConfig

    def note(**kw):
        return short_run_note(TrainConfig(**kw))

    assert note(model="sta-lstm", n1=100, n2=50).startswith(
        "note: --n1 100 --n2 50 is 650 iterations of sta-lstm (5 x N1 + 3 x N2), 10% of the "
        "paper's 6500")
    assert note(model="lstm", n1=10, n2=5).startswith("note: --n1 10 --n2 5 is 25 iterations "
                                                      "of lstm (2 x N1 + 1 x N2)")
    assert note(model="hcn", n1=100, n2=50).startswith("note: --n1 100 --n2 50 is 150 "
                                                       "iterations of hcn (1 x N1 + 1 x N2)")
    assert note(model="sta-lstm") is None and note(model="sta-lstm", n1=800, n2=400) is None
    # a one-stage configuration is measured in its own unit, epochs (issue 37: it said nothing)
    assert note(model="lstm", schedule="joint", epochs=3).startswith(
        "note: --epochs 3 is 2% of the 150 epochs of the named configurations")
    assert note(model="lstm", schedule="joint", epochs=150) is None
    assert TrainConfig.named("r1-view", model="hcn").epochs == 150


def test_label_file_help_and_error_name_the_same_choices(tmp_path):
    from stalib.data.utkinect import resolve_label_file
    from stalib.errors import DataRootError

    assert f"UTKinect: {' '.join(LABEL_FILE_CHOICES.split())}" in _help("data", "summary")
    with pytest.raises(DataRootError) as err:
        resolve_label_file(tmp_path, "nope.txt")
    assert LABEL_FILE_CHOICES in str(err.value)


@pytest.fixture(scope="module")
def toy_npz(tmp_path_factory):
    from stalib.data.core import SkeletonSet
    from stalib.data.npz import save_npz

    rng = np.random.default_rng(0)
    seqs = [rng.normal(0, 0.05, (8, 4, 3)).astype(np.float32) for _ in range(20)]
    data = SkeletonSet.from_sequences(seqs, [i % 2 for i in range(20)],
                                      [f"g{i % 5}" for i in range(20)],
                                      [f"s{i}" for i in range(20)], ["a", "b"], persons=1,
                                      joints_per_person=4, name="toy")
    return save_npz(data, tmp_path_factory.mktemp("npz") / "toy.npz")


def test_train_prints_train_accuracy_and_the_resume_and_schedule_notes(toy_npz, tmp_path,
                                                                        capsys):
    out = tmp_path / "run"
    status = main(["train", "--dataset", f"npz:{toy_npz}", "--model", "lstm", "--n1", "1",
                   "--n2", "1", "--batch-size", "4", "--device", "cpu", "--quiet",
                   "--set", "hidden=4", "--resume", "--out", str(out)])
    printed = capsys.readouterr().out
    assert status == 0
    lines = printed.splitlines()
    assert lines[0] == f"--resume: no checkpoint in {out}, starting from the beginning"
    assert lines[1].startswith("note: --n1 1 --n2 1 is 3 iterations of lstm")
    assert "% (4 sequences), train accuracy " in lines[-1] and "% (16), 3 iterations" in lines[-1]


def _readme_commands() -> list[str]:
    """Every ``stalib ...`` command of the README's bash blocks, continuation lines joined,
    comments and pipes cut off (a synopsis, ``stalib bench [--quick]``, is no command)."""
    import re

    commands, block = [], False
    lines = REPO_README.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            block = line.strip() == "```bash"
        elif block and line.lstrip().startswith("stalib "):
            text = line
            while text.rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text.rstrip()[:-1] + " " + lines[i]
            text = re.split(r"\s#|\s\|\s|\s&&\s|\s>", text)[0]
            if " [" not in text:
                commands.append(text.strip())
        i += 1
    return commands


def test_every_stalib_command_of_the_readme_parses():
    """A user copies these lines: each must be a valid command line (parsed, not run)."""
    import shlex

    commands = _readme_commands()
    assert len(commands) >= 20, commands  # the README's examples were found
    parser = build_parser()
    for command in commands:
        try:
            args = parser.parse_args(shlex.split(command)[1:])
        except SystemExit as stop:
            raise AssertionError(f"README: {command!r} does not parse") from stop
        assert callable(args.func), command
