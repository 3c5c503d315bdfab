"""frbench.report.summary: rows joined from the three stages, the first failure named, and
each row's exported graph compared with the baseline's."""

import json

import pandas as pd

from frbench.bench.result import empty_result
from frbench.report.summary import add_baseline_ratios, add_graph_differs, gather

PLAN = {"warmup": 1, "iters": 3, "threads": 1}


def write(path, record):
    path.write_text(json.dumps(record))
    return str(path)


def test_the_first_failed_stage_explains_the_row(tmp_path):
    """Training failed (its dataset was unreadable): its error wins over the export's and
    the benchmark's, which only report the consequence."""
    key = {"method": "baseline", "level": "dense", "seed": 0}
    bench = {**empty_result(runner="host", model="m.ptl", fmt="ptl", plan=PLAN, error="export failed: empty file"),
             "key": {**key, "fmt": "ptl", "device": "host"}}
    export = {"key": {**key, "fmt": "ptl"}, "error": "CheckpointError: model.pt: truncated or corrupt checkpoint"}
    train = {"key": key, "error": "DataError: dataset.npz: truncated or corrupt"}
    summary = gather([write(tmp_path / "b.json", bench)], [write(tmp_path / "e.json", export)],
                     [write(tmp_path / "t.json", train)]).summary
    assert summary.loc[0, "error"] == train["error"]
    export["error"] = None
    train["error"] = None
    bench["error"] = "TimeoutError: the worker hung"
    summary = gather([write(tmp_path / "b.json", bench)], [write(tmp_path / "e.json", export)],
                     [write(tmp_path / "t.json", train)]).summary
    assert summary.loc[0, "error"] == bench["error"]


def test_graph_differs_compares_with_the_baseline_on_the_same_format():
    df = pd.DataFrame([
        {"method": "baseline", "fmt": "ptl", "graph_signature": "A", "error": None},
        {"method": "baseline", "fmt": "pte", "graph_signature": "P", "error": None},
        {"method": "prune_unstructured", "fmt": "ptl", "graph_signature": "A", "error": None},
        {"method": "prune_unstructured", "fmt": "pte", "graph_signature": "A", "error": None},  # not pte's baseline
        {"method": "tucker", "fmt": "ptl", "graph_signature": "T", "error": None},
        {"method": "tucker", "fmt": "ptl", "graph_signature": None, "error": "export failed"},
        {"method": "fr", "fmt": "onnx", "graph_signature": "X", "error": None},  # no baseline in this format
    ])
    got = add_graph_differs(df)["graph_differs"].tolist()
    assert got == [None, None, False, True, True, None, None]
    assert add_graph_differs(df.drop(columns="graph_signature"))["graph_differs"].isna().all()  # older records


def test_the_baselines_graph_no_smaller_is_on_paper_even_when_timing_noise_says_faster():
    rows = [{"method": "baseline", "level": "dense", "p50_ms": 10.0, "file_bytes": 1000, "graph_differs": None},
            {"method": "prune_unstructured", "level": "0.8", "p50_ms": 9.0, "file_bytes": 1000, "graph_differs": False},
            {"method": "prune_structured", "level": "0.5", "p50_ms": 9.0, "file_bytes": 1000, "graph_differs": True},
            {"method": "tucker", "level": "0.5", "p50_ms": 10.0, "file_bytes": 1000, "graph_differs": True}]
    df = pd.DataFrame([{**r, "fmt": "ptl", "device": "host", "error": None, "stored_numbers": 100, "params_eager": 100}
                       for r in rows])
    assert add_baseline_ratios(df)["only_on_paper"].tolist() == [False, True, False, True]


def test_the_weights_only_update_gets_its_own_columns_and_a_flag_where_its_dice_differs(tmp_path):
    """A bench result's `weights_update` (the model run as program plus weights file) becomes the update_*
    columns; the comparison flags *update differs* only where the pair scored some image differently."""
    from frbench.report.tables import comparison

    def bench(seed, pair_dice):
        accuracy = {"dice": 0.5, "dice_per_image": [0.4, 0.6], "images": 2}
        pair = {**empty_result(runner="host", model="program.ptl", fmt="ptl", plan=PLAN), "load_ms": 2.0,
                "values": [1.0, 1.1, 1.2],
                "accuracy": {"dice": sum(pair_dice) / 2, "dice_per_image": pair_dice, "images": 2}}
        return {**empty_result(runner="host", model="m.ptl", fmt="ptl", plan=PLAN), "values": [1.0, 1.0, 1.0],
                "load_ms": 1.0, "accuracy": accuracy, "weights_update": pair,
                "key": {"method": "baseline", "level": "dense", "seed": seed, "fmt": "ptl", "device": "host"}}

    def export(seed):
        return {"key": {"method": "baseline", "level": "dense", "seed": seed, "fmt": "ptl"}, "error": None, "bytes": 100,
                "stored_numbers": 14, "params_eager": 14, "bytes_split": {"program": 20, "weights": 56, "container": 24},
                "exporter": {"weights_update": {"program_bytes": 40, "data_bytes": 64}}}

    files = [write(tmp_path / f"b{s}.json", bench(s, d)) for s, d in [(0, [0.4, 0.6]), (1, [0.4, 0.6])]]
    exports = [write(tmp_path / f"e{s}.json", export(s)) for s in (0, 1)]
    summary = gather(files, exports, []).summary
    assert summary["update_bytes"].tolist() == [64, 64] and summary["update_program_bytes"].tolist() == [40, 40]
    assert summary["update_load_ms"].tolist() == [2.0, 2.0] and summary["update_p50_ms"].tolist() == [1.1, 1.1]
    assert summary["update_same_dice"].tolist() == [True, True] and summary["update_error"].isna().all()
    comparisons = pd.DataFrame(columns=["method", "level", "fmt", "device", "dice", "dice_low", "dice_high", "role",
                                        "control", "images", "delta", "delta_low", "delta_high", "p", "paired_seeds",
                                        "verdict", "note", "test"])
    table = comparison(summary, comparisons, fidelity_tolerance=1e-4)
    assert not table.loc[0, "update_differs"] and table.loc[0, "update_bytes"] == 64

    files[1] = write(tmp_path / "b1.json", bench(1, [0.4, 0.59]))  # one image scored differently on one seed
    summary = gather(files, exports, []).summary
    assert summary["update_same_dice"].tolist() == [True, False]
    assert comparison(summary, comparisons, fidelity_tolerance=1e-4).loc[0, "update_differs"]
