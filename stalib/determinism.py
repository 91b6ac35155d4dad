"""The portable deterministic mode: the same run gives the same bits on any x86-64 CPU.

A run's floating-point result depends on more than its seed: on the number of threads (the
order of a parallel reduction), and on the vector instructions each library picks for the CPU it
finds (AVX-512 kernels round differently from AVX2 ones). Measured on this project's CPU
(SBU fold 1, STA-LSTM, same seed and commit): one thread more, or ATen's kernels moved from
AVX-512 to AVX2, or oneDNN's moved with them, each trained other weights. PyTorch promises
nothing across platforms; the mode arranges it by pinning, in every process that trains:

========================== ================= ===================================================
variable                   value             what it pins
========================== ================= ===================================================
``OMP_NUM_THREADS``        ``1``             torch's intra-op threads (parallelism comes from
``MKL_NUM_THREADS``        ``1``             processes: ``cv --jobs N``, ``reproduce --jobs N``)
``ATEN_CPU_CAPABILITY``    ``avx2``          the vector kernels of ATen (and their Sleef maths)
``ONEDNN_MAX_CPU_ISA``     ``AVX2``          oneDNN's kernels (convolutions of HCN / CSTA-CNN)
``MKL_CBWR``               ``AVX2,STRICT``   MKL's code path (matrix products of every model)
``KMP_DETERMINISTIC_       ``1``             OpenMP reductions in a fixed order
REDUCTION``
``NPY_DISABLE_CPU_         the AVX-512       numpy's kernels (augmentation maths) at AVX2
FEATURES``                 targets
``CUBLAS_WORKSPACE_        ``:4096:8``       cuBLAS's deterministic workspace (``--device cuda``)
CONFIG``
``PYTHONHASHSEED``         ``0``             set and dict order of strings
========================== ================= ===================================================

AVX2 is what every x86-64 CPU of the last decade has (Intel since 2013, AMD since 2015), so the
mode gives one answer on all of them, at the cost of the faster AVX-512 kernels where a CPU has
them (``stalib bench`` measures it). On CUDA, deterministic algorithms are switched on as well
(:func:`use_deterministic_cuda`); cuDNN's kernels differ between GPU models, so a GPU row reruns
identically on the same GPU model only, and CPU and GPU rows are never bit-comparable.

These variables are read when torch (or numpy, or OpenMP) is loaded, so they must be in the
environment before ``import torch``. The ``stalib`` command sets them and starts itself again
(:func:`reexec`); its worker processes (``cv --jobs``, the notebooks' kernels of
``stalib reproduce``) inherit them; the project's Jupyter kernel has them in its kernel spec
(:func:`install_kernel_env`). A library user calls :func:`enable` before importing torch, or
runs ``stalib``. Whatever the route, a run that writes a results row checks that the mode took
effect (:func:`current`) and refuses the row otherwise: only ``--native`` (the machine's own
kernels and threads, labelled so in the row) records without it.

A row's ``determinism`` column says how it was made (:func:`Mode.text`): ``portable cpu
isa=AVX2 threads=1 cbwr=AVX2,STRICT`` (``cuda=<GPU model>`` for a GPU run), ``native cpu
isa=AVX512 threads=2``, or ``unrecorded`` for rows written before the column existed.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from stalib.errors import StalibError

#: The pinned vector ISA, as ATen's ``get_cpu_capability`` names it.
ISA = "AVX2"
#: numpy's dispatch targets above AVX2, in the names of numpy 1.x and 2.x (a name a numpy does
#: not know is ignored by it).
_NUMPY_ABOVE_AVX2 = ("X86_V4 AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX "
                     "AVX512_CNL AVX512_ICL AVX512_SPR")
#: The environment of the portable mode (see the module's table).
PORTABLE_ENV: dict[str, str] = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "ATEN_CPU_CAPABILITY": ISA.lower(),
    "ONEDNN_MAX_CPU_ISA": ISA,
    "MKL_CBWR": f"{ISA},STRICT",
    "KMP_DETERMINISTIC_REDUCTION": "1",
    "NPY_DISABLE_CPU_FEATURES": _NUMPY_ABOVE_AVX2,
    "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    "PYTHONHASHSEED": "0",
}
#: Set in the environment of a process started again by :func:`reexec` (no second start).
MARK = "STALIB_DETERMINISM"
PORTABLE, NATIVE, UNRECORDED = "portable", "native", "unrecorded"


def native_requested() -> bool:
    """Whether this process was started by ``stalib ... --native`` (directly, or as its worker or
    notebook kernel): its rows record the machine's own arithmetic, labelled ``native``."""
    return os.environ.get(MARK) == NATIVE


def missing_env(env: dict[str, str] | None = None) -> list[str]:
    """The variables of :data:`PORTABLE_ENV` that ``env`` (``os.environ``) lacks or sets
    otherwise, as ``NAME=value`` (what they should be)."""
    env = os.environ if env is None else env
    return [f"{k}={v}" for k, v in PORTABLE_ENV.items() if env.get(k) != v]


def enable() -> None:
    """Put the portable mode's variables into ``os.environ``. Effective only before torch and
    numpy are imported: call it first thing (the ``stalib`` command does it for you)."""
    if "torch" in sys.modules or "numpy" in sys.modules:
        loaded = [m for m in ("torch", "numpy") if m in sys.modules]
        raise StalibError(f"stalib.determinism.enable(): {' and '.join(loaded)} already "
                          "imported, the portable mode can no longer take effect; call it "
                          "before importing them, or run through the stalib command")
    os.environ.update(PORTABLE_ENV)


def reexec(argv: list[str]) -> None:
    """Start this ``stalib`` command again with the portable environment, unless it has it (or
    was started again already): ``os.execve`` replaces the process, so its pid, stdin, stdout
    and exit status stay the caller's. Called by :func:`stalib.cli.main` before torch is
    imported; ``--native`` commands do not come here."""
    if not missing_env() or os.environ.get(MARK):
        return
    env = {**os.environ, **PORTABLE_ENV, MARK: PORTABLE}
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "stalib", *argv], env)


@dataclass(frozen=True)
class Mode:
    """How this process computes: the facts a row's bits depend on besides its settings."""

    portable: bool  # every variable set and in effect
    isa: str  # ATen's vector kernels (torch.backends.cpu.get_cpu_capability)
    threads: int  # torch's intra-op threads
    cbwr: str  # MKL_CBWR as set ("" when unset: MKL picks for the CPU)
    gpu: str = ""  # the GPU model of a CUDA run, with deterministic algorithms on
    problems: tuple[str, ...] = ()  # why the mode is not portable

    def text(self) -> str:
        """The row's ``determinism`` value, e.g. ``portable cpu isa=AVX2 threads=1
        cbwr=AVX2,STRICT``."""
        word = PORTABLE if self.portable else NATIVE
        where = f"cuda={self.gpu}" if self.gpu else "cpu"
        cbwr = f" cbwr={self.cbwr}" if self.cbwr else ""
        return f"{word} {where} isa={self.isa} threads={self.threads}{cbwr}"


def current(device: str = "cpu") -> Mode:
    """The mode this process is in (imports torch): portable when every variable of
    :data:`PORTABLE_ENV` is set as the mode sets it and the libraries obey it: ATen's kernels
    are AVX2 ones, torch runs one thread, numpy dispatches to nothing above AVX2, and on CUDA
    deterministic algorithms are on."""
    import torch

    isa = torch.backends.cpu.get_cpu_capability()
    threads = torch.get_num_threads()
    problems = [f"{v} not set" for v in missing_env()]
    if isa not in (ISA, "DEFAULT"):  # DEFAULT: a CPU without AVX2 runs the plain kernels
        problems.append(f"torch's CPU kernels are {isa}, not {ISA}")
    if threads != 1:
        problems.append(f"torch runs {threads} threads, not 1")
    above = numpy_targets_above_avx2()
    if above:
        problems.append(f"numpy dispatches to {', '.join(above)}")
    gpu = ""
    if str(device).startswith("cuda"):
        gpu = torch.cuda.get_device_name(torch.device(device))
        if not torch.are_deterministic_algorithms_enabled():
            problems.append("torch's deterministic algorithms are off")
    return Mode(not problems, isa, threads, os.environ.get("MKL_CBWR", ""), gpu,
                tuple(problems))


def numpy_targets_above_avx2() -> list[str]:
    """numpy's dispatch targets above AVX2 that it uses in this process (none in the mode)."""
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
        except ImportError:
            return []
    above = set(_NUMPY_ABOVE_AVX2.split())
    return [t for t in __cpu_dispatch__ if t in above and __cpu_features__.get(t)]


def use_deterministic_cuda() -> None:
    """Deterministic algorithms for a CUDA run (torch raises on an op that has none) and no
    cuDNN autotuning (it may pick other kernels run to run)."""
    import torch

    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def row_mode(device: str, native: bool) -> str:
    """The ``determinism`` value of a row this process is about to write: the portable mode's
    text, or with ``native`` the machine's own. Without ``native`` a mode that did not take
    effect is refused with a one-line error saying what is wrong and how to start correctly."""
    if str(device).startswith("cuda"):
        use_deterministic_cuda()
    mode = current(device)
    if mode.portable or native:
        return mode.text()
    raise StalibError(
        "the portable deterministic mode is not in effect (" + "; ".join(mode.problems) + "): a "
        "row must be recorded in it; run through the stalib command, or call "
        "stalib.determinism.enable() before importing torch, or pass `native` to "
        "record the machine's own arithmetic, labelled so")


def word(determinism: str | None) -> str:
    """The mode of a row's ``determinism`` value: portable, native or unrecorded."""
    text = (determinism or "").strip()
    if not text or text == "nan":
        return UNRECORDED
    first = text.split()[0]
    return first if first in (PORTABLE, NATIVE) else UNRECORDED


def install_kernel_env(prefix: str | Path | None = None) -> Path:
    """Add the portable environment to the ``python3`` Jupyter kernel spec of the environment
    ``prefix`` (this interpreter's), so that notebooks opened in JupyterLab record rows in the
    mode. Returns the kernel spec's path."""
    path = Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / "python3" / "kernel.json"
    if not path.is_file():
        raise StalibError(f"{path}: no kernel spec there (expected the one `python -m ipykernel "
                          "install --sys-prefix` writes)")
    spec = json.loads(path.read_text())
    spec["env"] = {**spec.get("env", {}), **PORTABLE_ENV}
    path.write_text(json.dumps(spec, indent=1) + "\n")
    return path


if __name__ == "__main__":  # python -m stalib.determinism --kernel-spec (the Makefile's step)
    if sys.argv[1:] != ["--kernel-spec"]:
        sys.exit("usage: python -m stalib.determinism --kernel-spec")
    print(f"portable mode added to {install_kernel_env()}")
