"""Seeds pooled into one report row must have run under the same conditions (after pyperf, which
refuses to merge runs whose metadata differ): where the runtime, its version, the frbench or torch
version or the thread count differ between the seeds of a (method, level, fmt, device), the row is
kept but flagged (`mixed_metadata`), shown in the report, and `gather` warns on stderr. Built on
tests/data/summary.csv and comparisons.csv, as tests/test_report.py is."""

import json
import re

import pandas as pd
import pytest

from frbench.bench.result import empty_result
from frbench.report.html import render_report
from frbench.report.summary import gather, metadata_warnings, mixed_metadata, seed_table
from frbench.report.tables import COMPARISON_COLUMNS, comparison

from conftest import ROOT

DATA = ROOT / "tests" / "data"
PROVENANCE = {"git": {"commit": "abc123", "dirty": False}, "config_hash": "h", "config": {},
              "packages": {"torch": "2.13.0"}, "python": "3.11", "host": {"cpu": "Test CPU", "machine": "x86_64",
                                                                         "system": "Linux"}}


@pytest.fixture(scope="module")
def summary():
    return pd.read_csv(DATA / "summary.csv")


@pytest.fixture(scope="module")
def comparisons():
    return pd.read_csv(DATA / "comparisons.csv")


def _seed(df, method, seed):
    return df["method"].eq(method) & df["seed"].eq(seed)


@pytest.fixture(scope="module")
def mixed(summary):
    """prune_structured's second seed ran on 2 threads, its first on 1; quantize's failed seed on 4 (a
    failed seed is not pooled: no flag for it)."""
    df = summary.copy()
    df.loc[_seed(df, "prune_structured", 1), "threads"] = 2
    df.loc[_seed(df, "quantize", 1), "threads"] = 4
    return df


def _render(summary, comparisons):
    answers = pd.read_csv(DATA / "answers.csv")
    return render_report(summary, comparisons, answers, {}, PROVENANCE, "snakemake --cores all all", dice_budget=0.01,
                         fidelity_tolerance=1e-4)


def test_agreeing_seeds_get_no_flag(summary, comparisons):
    table = comparison(summary, comparisons, 1e-4)
    assert "mixed_metadata" in table and table["mixed_metadata"].isna().all()
    assert metadata_warnings(summary) == []
    html = _render(summary, comparisons)
    assert "mixed threads" not in html and "Seeds pooled with differing metadata" not in html


def test_seeds_with_different_thread_counts_are_flagged_not_merged_silently(mixed, summary, comparisons):
    table = comparison(mixed, comparisons, 1e-4).set_index(["method", "level"])
    assert table.loc[("prune_structured", "0.5"), "mixed_metadata"] == "threads: 1, 2"
    assert table["mixed_metadata"].notna().sum() == 1  # quantize's odd thread count is its failed seed's
    # flagged, not refused: the row and every number are those of the agreeing summary
    plain = comparison(summary, comparisons, 1e-4).set_index(["method", "level"])
    numbers = [c for c in plain.columns if c != "mixed_metadata"]
    pd.testing.assert_frame_equal(table[numbers], plain[numbers])
    # the pooling itself carries the flag (seed_table, which the tables and figures use)
    pooled = seed_table(mixed, COMPARISON_COLUMNS).set_index(["method", "level"])
    assert pooled.loc[("prune_structured", "0.5"), "mixed_metadata"] == "threads: 1, 2"
    assert pooled.loc[("prune_structured", "0.5"), "seeds"] == 2


def test_the_report_shows_the_flag_on_that_row(mixed, comparisons):
    html = _render(mixed, comparisons)
    main_table = html.split('id="comparison">', 1)[1].split("</table>", 1)[0]
    rows = {re.search(r'<td class="t">(.*?)</td><td class="t">(.*?)</td>', row).groups(): row
            for row in main_table.split("<tr")[2:]}  # [0] precedes the header, [1] is the header
    assert "mixed threads</span>" in rows[("prune_structured", "0.5")]
    assert sum("mixed threads</span>" in row for row in rows.values()) == 1
    assert 'title="seeds pooled with differing metadata: threads: 1, 2"' in html
    # the values, in a section of their own; "The answer" marks the level it picks for that method
    assert "Seeds pooled with differing metadata" in html and ">threads: 1, 2</td>" in html
    assert "(seeds mixed threads)" in html
    # the latency note prints every thread count of the pooled rows and says they differ
    assert "1, 2 thread(s)" in html and "ran with different thread counts" in html


def test_every_checked_field_is_named_with_its_values(summary):
    df = summary.assign(frbench_version="0.1.0", torch_version="2.13.0")
    base = _seed(df, "baseline", 1)
    df.loc[base, "runtime_version"] = "2.12.0+cpu"
    df.loc[base, "torch_version"] = "2.12.0"
    df.loc[_seed(df, "prune_unstructured", 1), "runtime"] = None  # unknown: not known to agree
    flags = mixed_metadata(df).set_index("method")["mixed_metadata"]
    assert flags["baseline"] == "runtime version: 2.12.0+cpu, 2.13.0+cpu; torch: 2.12.0, 2.13.0"
    assert flags["prune_unstructured"] == "runtime: none, pytorch-lite"
    assert flags.drop(["baseline", "prune_unstructured"]).isna().all()


# --- gather: from the result files, with a warning on stderr -------------------------------------------


def _bench(tmp_path, seed, threads, torch_version="2.13.0"):
    plan = {"warmup": 1, "iters": 3, "threads": threads}
    record = {**empty_result(runner="host", model="m.ptl", fmt="ptl", plan=plan),
              "key": {"method": "tucker", "level": "0.5", "seed": seed, "fmt": "ptl", "device": "host"},
              "load_ms": 1.0, "values": [1.0, 1.1, 1.2], "accuracy": {"dice": 0.9, "dice_per_image": [0.9, 0.8]},
              "runtime": {"name": "pytorch-lite", "version": f"{torch_version}+cpu"},
              "provenance": {"git": {"commit": "abc", "dirty": False}, "settings_hash": "h",
                             "packages": {"frbench": "0.1.0", "torch": torch_version}}}
    path = tmp_path / f"bench{seed}.json"
    path.write_text(json.dumps(record))
    return str(path)


def _exports(tmp_path):
    paths = []
    for seed in (0, 1):
        path = tmp_path / f"export{seed}.json"
        path.write_text(json.dumps({"key": {"method": "tucker", "level": "0.5", "seed": seed, "fmt": "ptl"},
                                    "error": None, "bytes": 1000, "stored_numbers": 100, "params_eager": 100}))
        paths.append(str(path))
    return paths


def test_gather_warns_and_keeps_every_seed(tmp_path, capsys):
    summary = gather([_bench(tmp_path, 0, 1), _bench(tmp_path, 1, 2, "2.12.0")], _exports(tmp_path), []).summary
    assert len(summary) == 2 and summary["error"].isna().all()  # both seeds kept
    assert summary["threads"].tolist() == [1, 2] and summary["torch_version"].tolist() == ["2.13.0", "2.12.0"]
    err = capsys.readouterr().err
    assert "tucker/0.5 on ptl/host" in err
    assert "runtime version: 2.12.0+cpu, 2.13.0+cpu; torch: 2.12.0, 2.13.0; threads: 1, 2" in err
    assert seed_table(summary, ["p50_ms"]).loc[0, "mixed_metadata"] == (
        "runtime version: 2.12.0+cpu, 2.13.0+cpu; torch: 2.12.0, 2.13.0; threads: 1, 2")


def test_gather_is_quiet_when_the_seeds_agree(tmp_path, capsys):
    summary = gather([_bench(tmp_path, 0, 1), _bench(tmp_path, 1, 1)], _exports(tmp_path), []).summary
    assert "differing metadata" not in capsys.readouterr().err
    assert seed_table(summary, ["p50_ms"])["mixed_metadata"].isna().all()
