"""Sphinx extension of the stalib book: an offline site, math included.

* MathJax 3 comes from the Python package ``sphinx-mathjax-offline`` (in requirements.txt, so
  the book builds offline right after ``pip install -r requirements.txt``, no npm, no extra
  step): its ``static/mathjax/`` folder is served as ``_static/mathjax/`` and ``mathjax_path``
  points there. The folder is added to ``html_static_path`` here rather than in ``_config.yml``
  because jupyter-book would otherwise add every ``.js`` file found under a static path to every
  page. (The package's own Sphinx ``setup`` is not used: it copies the files only after the
  build, past the offline check below.)
* After the build, every page is checked: a ``<script src>`` or ``<link href>`` that points to
  another host (a CDN) is a warning, so ``jupyter-book build -W`` fails on it.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

MATHJAX_ENTRY = "mathjax/tex-chtml.js"
# <script ... src="..."> and <link ... href="..."> (stylesheets, preloads, icons)
_REMOTE = re.compile(
    r"<(script|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"']((?:https?:)?//[^\"']+)[\"']", re.I
)


MATHJAX_PACKAGE = "sphinx-mathjax-offline"  # its import name has dashes, as it is published


def mathjax_static_dir() -> Path:
    """The folder holding ``mathjax/tex-chtml.js`` in the installed ``sphinx-mathjax-offline``."""
    spec = importlib.util.find_spec(MATHJAX_PACKAGE)
    hint = (f"install it with `pip install -r requirements.txt` (the Python package "
            f"{MATHJAX_PACKAGE} ships MathJax 3; the site must render math without a CDN)")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(f"MathJax is not installed: {hint}")
    static = Path(next(iter(spec.submodule_search_locations))) / "static"
    if not (static / MATHJAX_ENTRY).is_file():
        raise ExtensionError(f"MathJax: {static / MATHJAX_ENTRY} is missing: {hint}")
    return static


def _config_inited(app: Sphinx, config) -> None:
    config.html_static_path = [*config.html_static_path, str(mathjax_static_dir())]
    config.mathjax_path = MATHJAX_ENTRY


def remote_references(html: str) -> list[str]:
    """Addresses of scripts and linked resources on another host in one HTML page."""
    return [m.group(2) for m in _REMOTE.finditer(html)]


def _build_finished(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in sorted(outdir.rglob("*.html")):
        for url in remote_references(page.read_text(encoding="utf-8", errors="replace")):
            logger.warning("%s loads %s from the network (the book must work offline)",
                           page.relative_to(outdir), url)


def _always_reread(app, env, added, changed, removed) -> list[str]:
    """Every page reads results files Sphinx cannot see: re-read (and so re-execute) all pages
    at every build, so an incremental ``jupyter-book build`` never shows stale numbers."""
    return sorted(env.found_docs - set(added) - set(changed) - set(removed))


def setup(app: Sphinx) -> dict:
    app.connect("env-get-outdated", _always_reread)
    app.connect("config-inited", _config_inited)
    app.connect("build-finished", _build_finished)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
