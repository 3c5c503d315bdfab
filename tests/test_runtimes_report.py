"""Which runtime for this model? The report's per-format table and figure, generic over formats: built here
from a real study's summary (tests/data/summary_full.csv, `.ptl` only) with two made-up formats beside it."""

import matplotlib
import pandas as pd
import pytest

from frbench.report.decisions import COLUMNS as ANSWER_COLUMNS
from frbench.report.figures import Tables, draw, figure_names
from frbench.report.html import render_report
from frbench.report.runtimes import DICE_TOLERANCE, runtime_table

from conftest import ROOT

DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="module")
def three_formats():
    """The study on `ptl`, on `quick` (half the p50; FR's rows lose 0.05 Dice there) and on `slow`
    (twice the p50); the baseline failed on `slow` on the emulator."""
    ptl = pd.read_csv(DATA / "summary_full.csv")
    quick = ptl.assign(fmt="quick", p50_ms=ptl["p50_ms"] / 2)
    quick.loc[quick["method"] == "fr", "dice"] -= 0.05
    slow = ptl.assign(fmt="slow", p50_ms=ptl["p50_ms"] * 2)
    failed = (slow["method"] == "baseline") & (slow["device"] == "emulator-5554")
    slow.loc[failed, "error"], slow.loc[failed, "p50_ms"] = "load: broken", None
    return pd.concat([ptl, quick, slow], ignore_index=True)


def test_the_pick_is_the_fastest_format_that_scores_the_same_masks(three_formats):
    formats, table = runtime_table(three_formats)
    assert formats == ["ptl", "quick", "slow"]
    assert len(table) == len(three_formats.groupby(["method", "level", "device"]))
    for r in table.to_dict("records"):
        key = (r["method"], r["level"], r["device"])
        # quick is twice as fast as ptl, but changes FR's masks by more than the tolerance: not FR's pick
        assert r["pick"] == ("ptl" if r["method"] == "fr" else "quick"), key
        slow_ran = not pd.isna(r["slow:p50_ms"])
        assert r["formats"] == (3 if slow_ran else 2), key
        # the pick against the slowest format with the same masks: slow is 4x quick's p50, 2x ptl's
        assert r["speedup"] == pytest.approx((2 if r["method"] == "fr" else 4) if slow_ran else 2), key
    assert 0 < DICE_TOLERANCE < 0.05
    assert table["slow:p50_ms"].isna().sum() == 1  # the baseline that failed on the emulator


def test_one_format_gives_no_table_and_no_figure():
    ptl = pd.read_csv(DATA / "summary_full.csv")
    assert runtime_table(ptl)[1].empty
    assert "runtime_latency" not in figure_names({"methods": {}, "devices": ["host"], "formats": ["ptl"]})
    assert "runtime_latency" in figure_names({"methods": {}, "devices": ["host"], "formats": ["ptl", "onnx"]})


def test_the_report_and_the_figure_show_every_format(three_formats):
    comparisons = pd.read_csv(DATA / "comparisons_full.csv")
    provenance = {"git": {"commit": "abc", "dirty": False}, "config_hash": "h", "config": {},
                  "packages": {"torch": "2.13.0"}, "python": "3.11",
                  "host": {"cpu": "Test CPU", "machine": "x86_64", "system": "Linux"}}
    answers = pd.DataFrame(columns=ANSWER_COLUMNS)  # no decision needed: this test reads the runtimes section
    html = render_report(three_formats, comparisons, answers, {}, provenance, "snakemake --cores 2 all", 0.02, 1e-3)
    section = html[html.index('id="which-runtime"'):]
    section = section[: section.index("</table>")]
    for fmt in ("ptl", "quick", "slow"):
        assert f"{fmt}<br>p50 ms" in section
    assert section.count("<tr>") == 1 + len(runtime_table(three_formats)[1])
    fig = draw("runtime_latency", Tables(three_formats, pd.DataFrame(), pd.DataFrame(), comparisons))
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2  # host and the emulator
    labels = {t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts()}
    assert labels == {"ptl", "quick", "slow"}
