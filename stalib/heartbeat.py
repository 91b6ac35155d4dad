"""A line of progress every so often while something long runs (a notebook under papermill).

``with Heartbeat(log, describe, every=60): work()`` calls ``log(describe(elapsed_s))`` every
``every`` seconds from a daemon thread until the block ends; nothing is logged for work that
ends sooner. :func:`notebook_progress` describes a notebook papermill is executing, from the
copy it saves after each cell.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path


class Heartbeat:
    def __init__(self, log: Callable[[str], None], describe: Callable[[float], str],
                 every: float = 60.0):
        self.log, self.describe, self.every = log, describe, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.wait(self.every):
            try:
                self.log(self.describe(time.monotonic() - start))
            except Exception:  # noqa: BLE001 - a progress line must never break the work
                pass

    def __enter__(self) -> Heartbeat:
        self._thread = threading.Thread(target=self._run, daemon=True, name="stalib-heartbeat")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def notebook_progress(path: str | Path) -> str | None:
    """``cell 4 of 12`` for a notebook papermill is writing to ``path`` (the cell running or
    the next to run), or None while it cannot be read (not written yet, or half-written)."""
    try:
        nb = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    cells = [c for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    done = sum(c.get("metadata", {}).get("papermill", {}).get("status") == "completed"
               for c in cells)
    return f"cell {min(done + 1, len(cells))} of {len(cells)}" if cells else None


def elapsed_text(seconds: float) -> str:
    """``45 s``, ``12 min``, ``2 h 05 min``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"
