"""The book's Markdown sources: formulas are written as math (rendered by MathJax like the
method page), never as plain text with literal underscores or Unicode operators."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"


def prose(text: str) -> str:
    """The text a reader sees as prose: no code cells or fences, comments, inline code, math."""
    text = re.sub(r"^---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    text = re.sub(r"^(```|~~~).*?^\1", "", text, flags=re.S | re.M)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    text = re.sub(r"\$[^$]+\$", "", text, flags=re.S)
    text = re.sub(r"^\(.*\)=$", "", text, flags=re.M)  # MyST targets
    return re.sub(r"\]\([^)]*\)", "]", text)  # link targets


@pytest.mark.parametrize("page", ["csta.md", "readings/csta.md", "method.md",
                                  "readings/method.md"])
def test_formulas_are_math(page):
    text = prose((BOOK / page).read_text())
    words = [w for w in re.findall(r"\S*_\S*", text)]
    assert words == [], f"{page}: plain-text subscripts {words[:10]}"
    symbols = sorted(set(re.findall(r"[Σλ⊙²⁻¹∑αβ]", text)))
    assert symbols == [], f"{page}: formula symbols outside math {symbols}"


def test_prose_strips_what_it_should():
    assert prose("a `x_y` $a_k$ $$b_t$$ [l](x_y.md)\n```\nc_d\n```\n").split() == ["a", "[l]"]
