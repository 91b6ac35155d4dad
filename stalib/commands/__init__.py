"""Sub-commands of the ``stalib`` CLI, one module each (see :mod:`stalib.cli`)."""
