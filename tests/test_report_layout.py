"""What the report's helpers put on a page: no repeated bullet, tables that can scroll."""

from __future__ import annotations

import pandas as pd

from stalib import report


def test_paper_value_bullets_name_each_model_once():
    table = pd.DataFrame([
        dict(dataset="sbu", protocol="5fold", configuration=v, label=label, paper_source=src)
        for v in ("paper", "l1-off", "l1-off-aug")
        for label, src in (("STA-LSTM", "Song et al., AAAI 2017, Table 1"),
                           ("HCN", "Li et al., IJCAI 2018"))])
    text = report.comparison_sources(table)
    bullets = [line for line in text.splitlines() if line.startswith("- ")]
    assert bullets == ["- STA-LSTM (SBU, 5fold): Song et al., AAAI 2017, Table 1",
                       "- HCN (SBU, 5fold): Li et al., IJCAI 2018"]


def test_tables_sit_in_a_box_that_scrolls():
    html = report.show_table(pd.DataFrame({"a": [1]}), kind="ours").data
    assert html.startswith('<div class="stalib-scroll"><table') and html.endswith("</div>")
    css = (report.project_root() / "book" / "_static" / "stalib.css").read_text()
    assert "div.stalib-scroll { overflow-x: auto;" in css
