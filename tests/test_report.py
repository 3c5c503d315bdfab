"""The report and the figures, from a fixed summary.csv (tests/data/summary.csv) with crafted rows:
a baseline over two seeds, structured pruning (smaller, faster, measurably worse than its control, yet
keeping the baseline's quality), unstructured pruning (no smaller, no faster: compression on paper only;
no measurable difference; undecided), int8 with poor export fidelity and one failed seed, and a method
label that is a script tag (its export broke it); their comparisons with their controls are
tests/data/comparisons.csv, their answer tests/data/answers.csv. And a realistic full study
(tests/data/summary_full.csv, comparisons_full.csv, answers_full.csv and curves_full.csv, written by
tests/data/make_summary_full.py from a run of the default config: every method, level and control, three
seeds, host and emulator, the FR paper's released model, `graph_differs`) for the width of the report's
tables, the flags, verdicts and the answer."""

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import markupsafe
import pandas as pd
import pytest

from frbench.report.figures import FIGURES, Tables, draw, figure_names, pareto_front, write_figures
from frbench.report.html import fmt_num, render_report
from frbench.report.pooling import seed_table
from frbench.report.tables import ANSWERS, COMPARISON, PAPER, comparison, paper_table, printed, write_latex

from conftest import ROOT

DATA = ROOT / "tests" / "data"
SUMMARY, COMPARISONS, ANSWERS_CSV = DATA / "summary.csv", DATA / "comparisons.csv", DATA / "answers.csv"
SUMMARY_FULL, COMPARISONS_FULL = DATA / "summary_full.csv", DATA / "comparisons_full.csv"
ANSWERS_FULL, CURVES_FULL = DATA / "answers_full.csv", DATA / "curves_full.csv"
PROVENANCE = {"git": {"commit": "abc123", "dirty": True}, "config_hash": "h", "config": {"methods": {"x": "<b>"}},
              "packages": {"torch": "2.13.0"}, "python": "3.11", "host": {"cpu": "Test CPU", "machine": "x86_64",
                                                                         "system": "Linux"}}
NO_SAMPLES = pd.DataFrame(columns=["method"])


def csv_fixture(path):
    """A module-scoped fixture that reads one of the tables in tests/data."""
    return pytest.fixture(scope="module")(lambda: pd.read_csv(path))


summary, comparisons, answers = csv_fixture(SUMMARY), csv_fixture(COMPARISONS), csv_fixture(ANSWERS_CSV)  # crafted
full, full_comparisons = csv_fixture(SUMMARY_FULL), csv_fixture(COMPARISONS_FULL)  # a real default study
full_answers, full_curves = csv_fixture(ANSWERS_FULL), csv_fixture(CURVES_FULL)


@pytest.fixture(scope="module")
def html(summary, comparisons, answers):
    return render_report(summary, comparisons, answers, {}, PROVENANCE, "snakemake --cores all all", dice_budget=0.01,
                         fidelity_tolerance=1e-4)


@pytest.fixture(scope="module")
def full_html(full, full_comparisons, full_answers, full_curves):
    return render_report(full, full_comparisons, full_answers, {}, PROVENANCE, "snakemake --cores 2 all",
                         dice_budget=0.02, fidelity_tolerance=1e-3, curves=full_curves, convergence_tolerance=0.01)


def test_comparison_means_and_intervals(summary, comparisons):
    t = comparison(summary, comparisons, 1e-4).set_index(["method", "level"])
    # Dice and its interval over seeds and images come from comparisons.csv; the rest is over seeds
    assert t.loc[("baseline", "dense"), "dice"] == pytest.approx(0.91)
    assert (t.loc[("baseline", "dense"), "dice_low"], t.loc[("baseline", "dense"), "dice_high"]) == (0.85, 0.97)
    # two seeds, sd = 0.01414: t(0.975, 1) * sd / sqrt(2) = 12.706 * 0.01
    base = seed_table(summary, ["dice"]).set_index(["method", "level"]).loc[("baseline", "dense")]
    assert base["dice_ci95"] == pytest.approx(0.12706, rel=1e-3)
    assert t.loc[("quantize", "int8"), "seeds"] == 1 and t.loc[("quantize", "int8"), "failed_seeds"] == 1
    assert bool(t.loc[("prune_unstructured", "0.9"), "only_on_paper"])
    assert not bool(t.loc[("prune_structured", "0.5"), "only_on_paper"])
    assert bool(t.loc[("quantize", "int8"), "fidelity_flag"]) and not bool(t.loc[("baseline", "dense"), "fidelity_flag"])
    assert t.loc[("prune_structured", "0.5"), "verdict"] == "worse"
    assert t.loc[("prune_structured", "0.5"), "control"] == "baseline_ft/dense"


def test_the_answer_says_what_keeps_quality_and_names_the_simpler_alternative(html, full_html, full_answers):
    """The answer section: the test named with its margin and Holm's correction, the overall picks, per
    method the smallest and fastest level that keeps quality or "no level keeps quality", the undecided
    levels with the seeds that would decide them, and the simpler alternatives in words."""
    answer = html.split("<h2>The answer</h2>", 1)[1].split("<h2>Comparison</h2>", 1)[0]
    text = " ".join(re.sub(r"<[^>]+>", " ", answer).split())
    assert "non-inferiority against the baseline" in text and "Holm" in text and "a Dice loss of 0.01" in text
    assert "The smallest, fastest model that keeps quality (ptl, host): prune_structured/0.5" in text
    method = _Table("answer")
    method.feed(html)
    rows = {" ".join(r[0]).split()[0]: [" ".join(" ".join(c).split()) for c in r] for r in method.rows[1:]}
    assert rows["prune_structured"][2].startswith("0.5 130 kB, 1.5 ms, Dice 0.906")
    assert rows["prune_unstructured"][2] == "no level keeps quality" and rows["prune_unstructured"][4] == "0.9: 9 seeds"
    assert rows["quantize"][4] == "int8: not by seeds"  # one seed: its spread between seeds is unknown
    assert rows["prune_unstructured"][5].startswith("at 0.9: baseline_ft/dense (the trained baseline")
    decisions = _Table("decisions")
    decisions.feed(html)
    by_row = {(r[0][0], r[1][0]): [" ".join(" ".join(c).split()) for c in r] for r in decisions.rows[1:]}
    assert by_row[("prune_structured", "0.5")][4:6] == ["+0.004 [+0.001, +0.007]", "keeps"]
    assert by_row[("prune_unstructured", "0.9")][5] == "undecided 9 seeds decide"
    assert "export broke it" in by_row[("<script>alert('x')</script>", "0.1")][9]
    # the real study: every row of answers.csv has a row, each quality as answers.csv says
    full_rows = _Table("decisions")
    full_rows.feed(full_html)
    assert len(full_rows.rows) - 1 == len(full_answers)
    shown = sorted(" ".join(r[5]).split()[0] for r in full_rows.rows[1:])
    assert shown == sorted(full_answers["quality"])


def test_the_convergence_verdict_is_printed_with_its_interval(full_html, html):
    note = " ".join(re.search(r'<p class="note[^"]*" id="convergence">(.*?)</p>', full_html, re.S).group(1).split())
    assert re.search(r"rose by [+−]0\.\d{4} \(95&nbsp;% interval \[[+−]0\.\d{4}, [+−]0\.\d{4}\]; per seed", note), note
    assert "the baseline had converged" in note
    assert 'id="convergence"' not in html  # no curves given: no verdict


def test_printed_tables_have_one_precision_per_column_and_intervals(full, full_comparisons, summary, comparisons):
    # the realistic study was run before the heap pass: its column is filled here, for its print only
    full = full.assign(heap_peak_bytes=full["peak_rss_kb"] * 1024)
    table = comparison(full, full_comparisons, 1e-3)
    text = printed(table, COMPARISON)
    for column, decimals in (("File (kB)", 1), ("× bytes", 2), ("p50 (ms)", 2), ("Heap peak (MB)", 2)):
        cells = [c for c in text[column] if c != "–"]
        assert cells and all(re.fullmatch(rf"[\d,]+\.\d{{{decimals}}}( ± [\d,]+\.\d{{{decimals}}})?", c)
                             for c in cells), (column, cells[:5])
    # every Dice carries its interval inside [0, 1] (but the FR paper's model: one run, no per-image Dice here)
    dice = [c for c, m in zip(text["Dice"], table["method"]) if m != "fr_reference"]
    found = [re.fullmatch(r"(\d\.\d{3}) \[(\d\.\d{3}), (\d\.\d{3})\]", c) for c in dice]
    assert all(found), dice[:5]
    assert all(0 <= float(m[2]) <= float(m[1]) <= float(m[3]) <= 1 for m in found)
    # a difference within the noise prints as such, never as a signed number
    quiet = table["verdict"].eq("no measurable difference")
    assert quiet.any() and (text.loc[quiet, "Δ Dice vs control"] == "no measurable difference").all()
    loud = table["verdict"].isin(["worse", "better"])
    interval = r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\]"
    assert loud.any() and text.loc[loud, "Δ Dice vs control"].str.fullmatch(interval).all()
    paper = printed(paper_table(table), PAPER).set_index("Model")
    assert paper.loc["fr_reference (k33)", "Compression rate"] == "40,892.9x"  # 31,037,698 / 759; never "4.089e+04x"
    assert paper.loc["baseline (dense)", "Compression rate"] == "1.0x ± 0.0"
    assert all(re.fullmatch(r"\d+\.\d( \[\d+\.\d, \d+\.\d\])?", c) for c in paper["Dice (%)"])
    latex = write_latex(paper.reset_index(), "c")
    assert "e+0" not in latex and "40,892.9x" in latex
    small = printed(pd.read_csv(ANSWERS_CSV), ANSWERS).set_index("Method")
    assert small.loc["prune_structured", "Loss vs baseline"] == "+0.004 [+0.001, +0.007]"
    assert small.loc["prune_unstructured", "Quality"] == "undecided"
    assert small.loc["prune_unstructured", "Seeds to decide"] == "9"
    assert small.loc["prune_structured", "Picked"] == "yes" and small.loc["quantize", "Seeds to decide"] == "–"


def test_numbers_never_in_exponent_notation():
    assert fmt_num(40892.88) == "40,893" and fmt_num(12345.6) == "12,346" and fmt_num(7724.0) == "7,724"
    assert fmt_num(170.4, 2) == "170" and fmt_num(999.7, 3) == "1,000"  # CIs are printed to 2 digits
    assert fmt_num(0.91) == "0.91" and fmt_num(1.5) == "1.5" and fmt_num(0.0021) == "0.0021"


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
    """Each method name appears as the report must print it, escaped; a name with markup in it never
    appears raw (this fails when the report's autoescaping is off)."""
    for method, level in summary[["method", "level"]].drop_duplicates().itertuples(index=False):
        escaped = str(markupsafe.escape(method))
        assert f">{escaped}<" in html, method
        if escaped != method:
            assert method not in html, method
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
    assert html.count(">worse than control</span>") == 1 and html.count(">better than control</span>") == 1


def test_verdicts_and_intervals_are_rendered(html, full_html, full_comparisons):
    """Each row reads against its control: a measurable difference as a signed number ± its interval,
    one within the noise as "no measurable difference" with no number; the test is named."""
    small = _Table("comparison")
    small.feed(html)
    delta = [" ".join(c).strip() for c in small.rows[0]].index("Δ Dice vs control³")
    cell = {row[0][0].strip() + "/" + row[1][0].strip(): [x.strip() for x in row[delta]] for row in small.rows[1:]}
    assert cell["prune_structured/0.5"] == ["−0.012", "[−0.020, −0.004]", "vs baseline_ft/dense"]  # worse
    assert cell["prune_unstructured/0.9"] == ["no measurable", "difference", "[−0.050, +0.010]", "vs baseline_ft/dense"]
    assert cell["<script>alert('x')</script>/0.1"] == ["+0.050", "[+0.020, +0.080]", "vs baseline_ft/dense"]  # better
    assert cell["baseline/dense"] == ["–"]
    assert "t-interval over seeds x images" in html and "in every seed" in html and "Holm-corrected per format" in html
    rows = _Table("comparison")
    rows.feed(full_html)
    by_verdict = {}
    for row in rows.rows[1:]:
        lines = [line.strip() for line in row[delta] if line.strip()]
        by_verdict.setdefault(lines[0], []).append(lines)
    quiet = by_verdict.pop("no measurable")
    assert all(lines[1] == "difference" and lines[2].startswith("[") and lines[3].startswith("vs ") for lines in quiet)
    assert all(re.fullmatch(r"[+−]\d\.\d{3}", first) for first in by_verdict if first != "–"), by_verdict.keys()
    assert all(lines[1].startswith("[") for first, group in by_verdict.items() if first != "–" for lines in group)
    assert len(quiet) == full_comparisons["verdict"].eq("no measurable difference").sum()


def test_escaping_holds(html):
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert '"x": "\\u003cb\\u003e"' in html  # config values too (tojson escapes < and >)
    assert html.count("<script>") == 1  # only the sorting script


def test_no_external_urls(summary, comparisons):
    figs = {"dice_vs_size": None}
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        fig = draw("dice_vs_size", Tables(summary, NO_SAMPLES, pd.DataFrame(), comparisons))
        fig.savefig(Path(d) / "dice_vs_size.png")
        figs["dice_vs_size"] = Path(d) / "dice_vs_size.png"
        html = render_report(summary, comparisons, pd.read_csv(ANSWERS_CSV), figs, PROVENANCE, "x", 0.01, 1e-4)
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
    assert {"fr_kept_vs_dice", "host_vs_device", "runtime_latency"} <= set(figure_names(full))
    assert set(figure_names(full)) <= set(FIGURES.names())


def test_write_figures_writes_every_declared_file(summary, comparisons, tmp_path):
    samples = pd.DataFrame([{"method": m, "level": lv, "seed": s, "fmt": "ptl", "device": "host", "i": i, "ms": 1.0 + i}
                            for m, lv, s in summary[["method", "level", "seed"]].itertuples(index=False) for i in range(3)])
    curves = pd.DataFrame([{"method": "baseline", "level": "dense", "seed": 0, "epoch": e, "loss": 1 / e,
                            "val_dice": 0.1 * e} for e in range(1, 4)])
    (tmp_path / "s.csv").write_text(summary.to_csv(index=False))
    samples.to_csv(tmp_path / "samples.csv", index=False)
    curves.to_csv(tmp_path / "curves.csv", index=False)
    names = FIGURES.names()  # every figure, including those with no data to show
    write_figures(tmp_path / "s.csv", tmp_path / "samples.csv", tmp_path / "curves.csv", COMPARISONS, ANSWERS_CSV,
                  names, tmp_path / "out", {"dice_budget": 0.01, "fidelity_tolerance": 1e-4})
    for name in names:
        for ext in ("png", "pdf"):
            assert (tmp_path / "out" / f"{name}.{ext}").stat().st_size > 1000, (name, ext)
    for table in ("comparison", "answers", "paper_table"):
        assert (tmp_path / "out" / f"{table}.csv").read_text().count("\n") >= 2
        assert "\\begin{tabular}" in (tmp_path / "out" / f"{table}.tex").read_text()


# --- graph_differs: "same graph as baseline" ------------------------------------------------------


def test_same_graph_flag(full, full_comparisons, full_html):
    t = comparison(full, full_comparisons, 1e-3).set_index(["method", "level", "device"])
    assert t.loc[("prune_unstructured", "0.8", "host"), "same_graph"]  # only zeroes weights
    assert not t.loc[("baseline", "dense", "host"), "same_graph"]  # empty: the baseline itself
    assert not t.loc[("prune_structured", "0.25", "host"), "same_graph"]
    assert not t.loc[("tucker", "0.1", "emulator-5554"), "same_graph"]  # True for two seeds, empty for the failed one
    # unstructured pruning's levels, and the baseline fine-tuned (its very graph), on two devices
    assert t["same_graph"].sum() == 6
    assert full_html.count("same graph as baseline</span>") == 6
    # it is what explains "on paper only": every flagged compressed row is also on paper only here (the
    # control baseline_ft is the baseline's own graph, and no compression at all: never on paper only)
    assert (t.loc[t["same_graph"] & ~t["is_control"], "only_on_paper"]).all()
    assert not t.loc[t["is_control"], "only_on_paper"].any()


def test_same_graph_flag_tolerates_old_summaries_and_text_values(summary, comparisons, full, full_comparisons,
                                                                 html):
    assert "graph_differs" not in summary  # an older summary: no column, no flag, no error
    assert not comparison(summary, comparisons, 1e-4)["same_graph"].any()
    assert "same graph as baseline</span>" not in html
    as_text = full.assign(graph_differs=full["graph_differs"].map({True: "True", False: "False"}))
    assert comparison(as_text, full_comparisons, 1e-3)["same_graph"].sum() == 6
    empty = full.assign(graph_differs=None)
    assert not comparison(empty, full_comparisons, 1e-3)["same_graph"].any()


# --- the FR paper's released model in the figures ----------------------------------------------------


def test_reference_model_is_marked_and_off_the_pareto_front(full, full_comparisons, comparisons):
    fig = draw("dice_vs_size", Tables(full, NO_SAMPLES, pd.DataFrame(), full_comparisons))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("fr_reference" in lab and "own 16 test images" in lab for lab in labels), labels
    ref_bytes = full.loc[full["method"] == "fr_reference", "file_bytes"].mean()
    fronts = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert fronts and all(ref_bytes not in line.get_xdata() for line in fronts)
    # the reference is the highest Dice: on the front it would dominate every other model
    assert max(max(line.get_ydata()) for line in fronts) < 0.97
    # its 0.9 s latency among 0.5-6 ms models: a log axis, or every other point lands in one column
    latency = draw("dice_vs_latency", Tables(full, NO_SAMPLES, pd.DataFrame(), full_comparisons)).axes[0]
    assert latency.get_xscale() == "log" and "log scale" in latency.get_xlabel()
    small = draw("dice_vs_size", Tables(pd.read_csv(SUMMARY), NO_SAMPLES, pd.DataFrame(), comparisons))
    assert small.axes[0].get_xscale() == "linear"  # 130-500 kB: less than a factor of 10


def test_the_paper_models_memory_is_shown_beside_what_its_authors_reported_on_a_phone(full, full_html, html):
    """Its peak RSS as measured here, per format, and the seed authors' phone figures, cited as reported."""
    peak_gb = full.loc[(full["method"] == "fr_reference") & full["error"].isna(), "peak_rss_kb"].mean() / 1024**2
    note = re.search(r'<p class="note" id="reference-memory">(.*?)</p>', full_html, re.S).group(1)
    assert f"{peak_gb:.3g} GB on <code>.ptl</code>" in " ".join(note.split())
    assert "3.27 GB" in note and "1.93 GB" in note and "not measured here" in note
    assert 'id="reference-memory"' not in html  # a study without the paper's model has no such note


# --- the main table fits a laptop screen ---------------------------------------------------------------


class _Table(HTMLParser):
    """One table's rows, each cell as its lines: split at <br>, and in the flags cell one line per flag
    (flags are nowrap spans the cell may wrap between); headers as the words they may wrap at."""

    def __init__(self, table_id):
        super().__init__()
        self.id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.inside |= tag == "table" and attrs.get("id") == self.id
        if not self.inside:
            return
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell, self.flags = [""], "flags" in (attrs.get("class") or "")
            self.rows[-1].append(self.cell)
        elif self.cell is not None and (tag == "br" or (tag == "span" and self.flags)):
            self.cell.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.cell = None
        elif tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[-1] += data

    def column_chars(self) -> list[int]:
        """Per column, the longest line of a body cell or the longest word of the header, in characters."""
        head, body = self.rows[0], self.rows[1:]
        lines = lambda c: [line.strip().removeprefix("· ") for line in c if line.strip()] or [""]  # noqa: E731
        return [max([len(w) for w in " ".join(head[i]).split()] + [len(line) for r in body for line in lines(r[i])])
                for i in range(len(head))]


# Measured with Debian's Chromium 156 (headless, DejaVu Sans: the widest common sans-serif; the
# table's text is 12 px) on the report of tests/data/summary_full.csv:
#   chromium --headless --no-sandbox --hide-scrollbars --window-size=1366,900 --dump-dom report.html
# with a script reading the table's width (as test_tables_fit_the_screen_in_chromium does):
#   before (19 columns, longest line 18 characters, 151 in all): 1436 px wide unwrapped, squeezed into
#       the 1176 px page by breaking 147 number cells onto two lines ("128.5 kB", "4.089e+04");
#   after: main table 12 columns, 111 characters, 1021 px; second table 12 columns, 96 characters, 986 px,
#       no cell broken.
# That is about 8 px per character plus 10 px of padding per column (a 1021 px table: 12 x 10 + 111 x
# 8.1). The page is at most 84em = 1176 px wide (both at 1280 and 1366 px: body max-width), so a
# table fits if 10 N + 8 C <= 1176 (N columns, C characters summed over their longest lines): with
# N = 12 that leaves C <= 132. The checks below keep N <= 12 and C <= 132, and no single line over
# 22 characters ("same graph as baseline", the longest flag; "prune_unstructured" is 18), which
# would otherwise widen its column for every row.
MAX_COLUMNS, MAX_CHARS, MAX_LINE, PAGE_PX, PX_PER_CHAR, PAD_PX = 12, 132, 22, 1176, 8, 10


@pytest.mark.parametrize("table_id", ["comparison", "comparison-more"])
def test_tables_fit_a_laptop_screen(full_html, table_id):
    table = _Table(table_id)
    table.feed(full_html)
    chars = table.column_chars()
    assert len(table.rows) == 1 + 28  # every model of the full study and the FR paper's, on two devices
    assert len(chars) <= MAX_COLUMNS, chars
    assert max(chars) <= MAX_LINE, chars
    assert sum(chars) <= MAX_CHARS, chars
    assert PAD_PX * len(chars) + PX_PER_CHAR * sum(chars) <= PAGE_PX


def test_main_table_keeps_the_deciding_columns(full_html):
    table = _Table("comparison")
    table.feed(full_html)
    head = [" ".join(c).strip() for c in table.rows[0]]
    assert head == ["method", "level", "format, device", "seeds", "Dice", "Δ Dice vs control³", "file", "× count¹",
                    "× bytes¹", "p50 ms", "heap peak", "flags²"]
    more = _Table("comparison-more")
    more.feed(full_html)
    assert "gzip" in " ".join(" ".join(c) for c in more.rows[0]) and "train peak MB" in full_html


_CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
                  if shutil.which(n)), None)
_MEASURE = """<script>
window.addEventListener("load", function () {
  var out = {viewport: document.documentElement.clientWidth, page: document.documentElement.scrollWidth};
  ["comparison", "comparison-more"].forEach(function (id) {
    var t = document.getElementById(id), box = t.parentElement, broken = [];
    t.querySelectorAll("td").forEach(function (c) {  // a cell whose text breaks onto more lines than it asks for
      var r = document.createRange(); r.selectNodeContents(c);
      var tops = new Set(Array.from(r.getClientRects()).filter(function (q) { return q.width > 0; })
                         .map(function (q) { return Math.round(q.top); }));
      var want = c.classList.contains("flags") ? Math.max(c.children.length, 1) : c.querySelectorAll("br").length + 1;
      if (tops.size > want) broken.push(c.textContent.trim());
    });
    out[id] = {right: Math.ceil(t.getBoundingClientRect().right), scroll: box.scrollWidth, client: box.clientWidth,
               broken: broken.slice(0, 5)};
  });
  var pre = document.createElement("pre"); pre.textContent = "MEASURE" + JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def in_chromium(html: str, script: str, tmp_path, width: int = 1366) -> dict:
    """Load `html` with `script` appended in headless Chromium, with no network (every host name resolves
    to nothing), and return the JSON the script leaves in a <pre> after "MEASURE"."""
    page = tmp_path / "report.html"
    page.write_text(html.replace("</body>", script + "</body>"))
    run = subprocess.run([_CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          "--disable-background-networking", "--no-first-run", "--disable-component-update",
                          "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp_path / 'profile'}",
                          f"--window-size={width},900", "--virtual-time-budget=2000", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    found = re.search(r"MEASURE(\{.*?\})</pre>", run.stdout)
    assert found, run.stderr[-2000:]
    return json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))


_USE = """<script>
window.addEventListener("load", function () {
  var out = {images: [], tables: {}, sorted: {}};
  document.querySelectorAll("img").forEach(function (img) {  // every figure drawn, from the page itself
    out.images.push({alt: img.alt, complete: img.complete, width: img.naturalWidth, inline: img.src.startsWith("data:")});
  });
  ["comparison", "comparison-more"].forEach(function (id) {
    out.tables[id] = document.getElementById(id).tBodies[0].rows.length;
  });
  var table = document.getElementById("comparison"), head = table.tHead.rows[0].cells;
  var dice = Array.from(head).findIndex(function (th) { return th.textContent.trim() === "Dice"; });
  var column = function () { return Array.from(table.tBodies[0].rows).map(function (tr) {
    return tr.cells[dice].dataset.v === "" ? null : parseFloat(tr.cells[dice].dataset.v); }); };
  head[dice].click();
  out.sorted.ascending = column();
  head[dice].click();
  out.sorted.descending = column();
  var pre = document.createElement("pre"); pre.textContent = "MEASURE" + JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


@pytest.mark.skipif(_CHROMIUM is None, reason="needs a headless Chromium (Debian: apt-get install chromium; `make test` "
                                             "installs it where it can)")
def test_the_report_works_in_a_browser_with_no_network(full, full_comparisons, tmp_path):
    """The default-study-shaped report in headless Chromium, every host name unresolvable: both tables hold
    every row, every figure is drawn from inside the page, and a click on a header sorts the table."""
    samples = pd.DataFrame([{"method": m, "level": lv, "seed": sd, "fmt": f, "device": d, "i": i, "ms": 1.0 + i}
                            for m, lv, sd, f, d in full[["method", "level", "seed", "fmt", "device"]].itertuples(index=False)
                            for i in range(3)])
    curves = pd.DataFrame([{"method": "baseline", "level": "dense", "seed": 0, "epoch": e, "loss": 1 / e,
                            "val_dice": 0.1 * e} for e in range(1, 4)])
    for name, table in (("s", full), ("samples", samples), ("curves", curves)):
        table.to_csv(tmp_path / f"{name}.csv", index=False)
    names = figure_names({"methods": {"fr": {}}, "devices": ["host", "emulator-5554"], "formats": ["ptl"]})
    write_figures(tmp_path / "s.csv", tmp_path / "samples.csv", tmp_path / "curves.csv", COMPARISONS_FULL,
                  ANSWERS_FULL, names, tmp_path / "out", {"dice_budget": 0.02, "fidelity_tolerance": 1e-3})
    figures = {name: tmp_path / "out" / f"{name}.png" for name in names}
    html = render_report(full, full_comparisons, pd.read_csv(ANSWERS_FULL), figures, PROVENANCE,
                         "snakemake --cores 2 all", 0.02, 1e-3)
    m = in_chromium(html, _USE, tmp_path)
    assert [i["alt"] for i in m["images"]] == names
    assert all(i["complete"] and i["width"] > 500 and i["inline"] for i in m["images"]), m["images"]
    models = len(full.groupby(["method", "level", "fmt", "device"]))
    assert m["tables"] == {"comparison": models, "comparison-more": models}
    up, down = ([v for v in m["sorted"][way] if v is not None] for way in ("ascending", "descending"))
    assert len(up) == models and up == sorted(up) and down == sorted(down, reverse=True)


@pytest.mark.skipif(_CHROMIUM is None, reason="needs a headless Chromium (Debian: apt-get install chromium); "
                                             "test_tables_fit_a_laptop_screen checks the same without a browser")
@pytest.mark.parametrize("width", [1366, 1280])
def test_tables_fit_the_screen_in_chromium(full_html, tmp_path, width):
    """In a real browser: neither table scrolls sideways, and no number breaks onto two lines."""
    m = in_chromium(full_html, _MEASURE, tmp_path, width)
    assert m["viewport"] == width and m["page"] <= width, m
    for table_id in ("comparison", "comparison-more"):
        t = m[table_id]
        assert t["scroll"] <= t["client"] and t["right"] <= width and not t["broken"], (table_id, t)
