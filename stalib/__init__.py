"""stalib: spatio-temporal attention models for skeleton-based action recognition.

A reproducible replication of STA-LSTM (Song et al., AAAI 2017) and CSTA-CNN (Wang, 2019).
Data flows one way: files -> :mod:`stalib.data` -> :mod:`stalib.models` -> :mod:`stalib.loss`
-> :mod:`stalib.train` -> results records -> :mod:`stalib.report` (the job grid, the notebooks'
helpers, tables, plots) -> book. :mod:`stalib.tools` holds the benchmarks and reliability checks;
:mod:`stalib.cli` is the command line over all of them. The library never imports the other two.
"""

__version__ = "0.2.0"
