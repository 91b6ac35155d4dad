"""The report's tables, one namespace for the book (``from stalib import report``): the results
files read (:mod:`stalib.report.results_files`), summarised (:mod:`stalib.report.summaries`) and
formatted for a page (:mod:`stalib.report.display`), each module doing one of the three.

Everything here READS files under the results folder and never trains. The results folder is
``$STALIB_RESULTS`` when set, else the ``results/`` folder of the project (found by walking up from
the working directory to the folder holding ``pyproject.toml`` and ``results/``, else next to the
``stalib`` package).

Files read:

* ``<results>/<dataset>/cv.csv``, the ONE results file of a dataset: one row per
  (dataset, protocol, configuration, model, fold, seed), ``accuracy`` a fraction in [0, 1]; written
  by the trainer (:mod:`stalib.results`) for ``stalib cv`` and for the Fig. 7 and CSTA notebooks
  alike. ``configuration`` is ``paper`` for the paper's settings (see :mod:`stalib.config`).
* ``<results>/<dataset>/validation.csv``: inner-validation runs (``--val-fold``), same format.
* ``<results>/<dataset>/per_class.csv``: test accuracy per class (:func:`per_class`), written
  by the errors job, which reads the data to know each test sequence's class.
* ``<results>/literature.csv``: the papers' numbers, ``accuracy`` in PERCENT as printed, with a
  citation per row (``table, dataset, protocol, method, accuracy, source``).

Our numbers are reported in percent: the mean and the sample standard deviation (ddof=1) over all
runs of a model, i.e. over folds and seeds together; ``runs`` says how many.
"""

from stalib.report.display import *  # noqa: F403
from stalib.report.results_files import *  # noqa: F403
from stalib.report.summaries import *  # noqa: F403
