"""The report pipeline: the experiment grid, the notebooks' helpers, tables and figures.

``from stalib import report`` gives the functions of :mod:`stalib.report.tables` (the book's pages
call ``report.summarise``, ``report.show_table``...).
"""

from stalib.report.tables import *  # noqa: F403
