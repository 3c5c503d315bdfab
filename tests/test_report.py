"""The report and the figures, from a fixed summary.csv (tests/data/summary.csv) with crafted rows:
a baseline over two seeds, structured pruning (smaller, faster), unstructured pruning (no smaller, no
faster: compression on paper only), int8 with poor export fidelity and one failed seed, and a method
label that is a script tag."""

import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from frbench.report import render_report
from frbench.report.figures import FIGURES, Tables, draw, figure_names, pareto_front, write_figures
from frbench.report.tables import answers, comparison, paper_table

from conftest import ROOT

SUMMARY = ROOT / "tests" / "data" / "summary.csv"
PROVENANCE = {"git": {"commit": "abc123", "dirty": True}, "config_hash": "h", "config": {"methods": {"x": "<b>"}},
              "packages": {"torch": "2.13.0"}, "python": "3.11", "host": {"cpu": "Test CPU", "machine": "x86_64",
                                                                         "system": "Linux"}}


@pytest.fixture(scope="module")
def summary():
    return pd.read_csv(SUMMARY)


@pytest.fixture(scope="module")
def html(summary):
    return render_report(summary, {}, PROVENANCE, "snakemake --cores all all", dice_budget=0.01,
                         fidelity_tolerance=1e-4)


def test_comparison_means_and_intervals(summary):
    t = comparison(summary, 1e-4).set_index(["method", "level"])
    assert t.loc[("baseline", "dense"), "dice"] == pytest.approx(0.91)
    # two seeds, sd = 0.01414: t(0.975, 1) * sd / sqrt(2) = 12.706 * 0.01
    assert t.loc[("baseline", "dense"), "dice_ci95"] == pytest.approx(0.12706, rel=1e-3)
    assert t.loc[("quantize", "int8"), "seeds"] == 1 and t.loc[("quantize", "int8"), "failed_seeds"] == 1
    assert bool(t.loc[("prune_unstructured", "0.9"), "only_on_paper"])
    assert not bool(t.loc[("prune_structured", "0.5"), "only_on_paper"])
    assert bool(t.loc[("quantize", "int8"), "fidelity_flag"]) and not bool(t.loc[("baseline", "dense"), "fidelity_flag"])


def test_answers_pick_the_smallest_file_within_the_budget(summary):
    a = answers(comparison(summary, 1e-4), budget=0.01).set_index("method")
    assert a.loc["prune_structured", "within_budget"] and a.loc["prune_structured", "size_ratio"] == pytest.approx(0.26)
    assert a.loc["prune_structured", "p50_ratio"] == pytest.approx(1.5 / 4.0)
    assert not a.loc["prune_unstructured", "within_budget"]  # 0.02 below the baseline
    assert answers(comparison(summary, 1e-4), budget=0.05).set_index("method").loc["prune_unstructured", "within_budget"]


def test_paper_table(summary):
    t = paper_table(comparison(summary, 1e-4)).set_index("Model")
    assert t.loc["baseline (dense)", "Compression rate"] == "1x"
    assert t.loc["prune_structured (0.5)", "Compression rate"] == "4x" and t.loc["prune_structured (0.5)", "Parameters"] == "30,000"


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.cells, self._in, self.urls = [], False, []

    def handle_starttag(self, tag, attrs):
        self._in = tag in ("td", "th")
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "td":
            self.cells.append("")

    def handle_data(self, data):
        if self._in and self.cells:
            self.cells[-1] += data


def test_every_method_and_level_appears(summary, html):
    for method, level in summary[["method", "level"]].drop_duplicates().itertuples(index=False):
        assert method in html or method.replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;") in html
        assert f">{level}<" in html


def test_numbers_match_the_csv(summary, html):
    cells = _Cells()
    cells.feed(html)
    text = " | ".join(cells.cells)
    base = summary[summary["method"] == "baseline"]
    assert f"{base['dice'].mean():.4g}" in text  # 0.91
    assert "500 kB" in text and "130 kB" in text  # file sizes
    assert "4" in text and "1.5" in text  # p50 ms


def test_flags_fire(html):
    assert html.count("on paper only</span>") == 1
    assert html.count(">fidelity</span>") == 1
    assert "1 failed" in html and "truncated or corrupt checkpoint" in html
    assert "may be unstable" in html
    assert "(uncommitted changes)" in html


def test_escaping_holds(html):
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert '"x": "\\u003cb\\u003e"' in html  # config values too (tojson escapes < and >)
    assert html.count("<script>") == 1  # only the sorting script


def test_no_external_urls(summary):
    figs = {"dice_vs_size": None}
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        fig = draw("dice_vs_size", Tables(summary, pd.DataFrame(columns=["method"]), pd.DataFrame()))
        fig.savefig(Path(d) / "dice_vs_size.png")
        figs["dice_vs_size"] = Path(d) / "dice_vs_size.png"
        html = render_report(summary, figs, PROVENANCE, "x", 0.01, 1e-4)
    cells = _Cells()
    cells.feed(html)
    assert cells.urls and all(u.startswith("data:image/png;base64,") for u in cells.urls)
    assert not re.search(r"https?://", html)


def test_pareto_front():
    pts = pd.DataFrame({"x": [1, 2, 3, 4], "y": [0.5, 0.4, 0.8, 0.7]})
    assert pareto_front(pts, "x", "y")["x"].tolist() == [1, 3]


def test_figure_names_follow_the_config():
    base = {"methods": {"baseline": {}}, "devices": ["host"], "formats": ["ptl"]}
    assert "fr_kept_vs_dice" not in figure_names(base)
    full = {"methods": {"baseline": {}, "fr": {}}, "devices": ["host", "emulator-5554"], "formats": ["ptl", "pte"]}
    assert {"fr_kept_vs_dice", "host_vs_device", "ptl_vs_pte"} <= set(figure_names(full))
    assert set(figure_names(full)) <= set(FIGURES.names())


def test_write_figures_writes_every_declared_file(summary, tmp_path):
    samples = pd.DataFrame([{"method": m, "level": lv, "seed": s, "fmt": "ptl", "device": "host", "i": i, "ms": 1.0 + i}
                            for m, lv, s in summary[["method", "level", "seed"]].itertuples(index=False) for i in range(3)])
    curves = pd.DataFrame([{"method": "baseline", "level": "dense", "seed": 0, "epoch": e, "loss": 1 / e, "val_dice": 0.1 * e}
                           for e in range(1, 4)])
    (tmp_path / "s.csv").write_text(summary.to_csv(index=False))
    samples.to_csv(tmp_path / "samples.csv", index=False)
    curves.to_csv(tmp_path / "curves.csv", index=False)
    names = FIGURES.names()  # every figure, including those with no data to show
    write_figures(tmp_path / "s.csv", tmp_path / "samples.csv", tmp_path / "curves.csv", names, tmp_path / "out",
                  {"dice_budget": 0.01, "fidelity_tolerance": 1e-4})
    for name in names:
        for ext in ("png", "pdf"):
            assert (tmp_path / "out" / f"{name}.{ext}").stat().st_size > 1000, (name, ext)
    for table in ("comparison", "answers", "paper_table"):
        assert (tmp_path / "out" / f"{table}.csv").read_text().count("\n") >= 2
        assert "\\begin{tabular}" in (tmp_path / "out" / f"{table}.tex").read_text()
