"""One row per result file: what `gather` joins into summary.csv, samples.csv and curves.csv.

`bench_row` reads a benchmark result (latency statistics derived from its raw samples, memory,
accuracy, the runtime and device, and the weights-only update's run), `export_row` an export record
(what the file holds), `train_row` a training record (what it cost, the row's role and control);
`sample_rows` and `curve_rows` give the long tables of raw latency samples and training epochs.
"""

from __future__ import annotations

from ..bench.result import with_stats
from .protocol import protocol_columns


def bench_row(r: dict) -> dict:
    r = with_stats(r)
    stats, mem, acc = r.get("stats") or {}, r.get("memory") or {}, r.get("accuracy") or {}
    runtime, device = r.get("runtime") or {}, r.get("device") or {}
    packages = (r.get("provenance") or {}).get("packages") or {}
    row = {**r["key"], "error": r.get("error")}
    row.update({f"{k}_ms": stats.get(k) for k in ("mean", "std", "min", "p50", "p90", "p99", "max", "trimmed_mean")})
    row.update(load_ms=r.get("load_ms"), first_inference_ms=r.get("first_inference_ms"),
               samples=len(r.get("values") or []), warmup=r["plan"]["warmup"], threads=r["plan"]["threads"],
               peak_rss_kb=mem.get("peak_rss"), rss_before_load_kb=mem.get("rss_before_load"),
               rss_after_load_kb=mem.get("rss_after_load"), dice=acc.get("dice"), dice_images=acc.get("images"),
               runtime=runtime.get("name"), runtime_version=runtime.get("version"),
               frbench_version=packages.get("frbench"), torch_version=packages.get("torch"),
               device_name=device.get("cpu") or device.get("model"), emulator=device.get("emulator"),
               load_avg_1m=(device.get("load_avg") or [None])[0], warnings="; ".join(r.get("warnings") or []),
               git_commit=((r.get("provenance") or {}).get("git") or {}).get("commit"),
               git_dirty=((r.get("provenance") or {}).get("git") or {}).get("dirty"))
    ran = r.get("ran") or {}
    row.update(allocator=((r.get("metadata") or {}).get("allocator") or {}).get("name"),
               stopped_by="; ".join(f"{phase} by {ran[f'{phase}_stopped_by']}" for phase in ("warmups", "iters", "dice")
                                    if ran.get(f"{phase}_stopped_by") == "time") or None)
    row.update(_update_row(r.get("weights_update"), acc))
    row.update(protocol_columns(r))  # heap, PSS, profile, device state
    return row


def _update_row(u: dict | None, whole_accuracy: dict) -> dict:
    """The model run as program plus weights file (a weights-only update): its error, load, p50,
    Dice, and whether its per-image Dice equals the whole file's. Empty where the plan ran none."""
    if u is None:
        return {}
    u = with_stats(u)
    acc = u.get("accuracy") or {}
    same = (acc.get("dice_per_image") == whole_accuracy.get("dice_per_image")) if acc and whole_accuracy else None
    return {"update_error": u.get("error"), "update_load_ms": u.get("load_ms"),
            "update_p50_ms": (u.get("stats") or {}).get("p50"), "update_dice": acc.get("dice"), "update_same_dice": same}


def export_row(e: dict) -> dict:
    fid = e.get("fidelity") or {}
    # A model that stores a compact form (FR) records the plain dense export of the same weights;
    # a file that is dense itself (`compact: false`) is its own dense export.
    dense_export = e.get("dense_export") or {}
    dense, dense_weights = dense_export.get("bytes"), (dense_export.get("bytes_split") or {}).get("weights")
    split = e.get("bytes_split") or {}
    update = (e.get("exporter") or {}).get("weights_update") or {}  # the weights-only update's files
    if dense is None and e.get("compact") is False:
        dense, dense_weights = e.get("bytes"), split.get("weights")
    return {**e["key"], "export_error": e.get("error"), "file_bytes": e.get("bytes"), "gzip_bytes": e.get("gzip_bytes"),
            "weights_bytes": split.get("weights"), "program_bytes": split.get("program"),
            "update_bytes": update.get("data_bytes"), "update_program_bytes": update.get("program_bytes"),
            "container_bytes": split.get("container"), "dense_weights_bytes": dense_weights,
            "stored_numbers": e.get("stored_numbers"), "nonzero_numbers": e.get("nonzero_numbers"),
            "params_eager": e.get("params_eager"), "fidelity_max_abs": fid.get("max_abs_diff"),
            "dice_eager": fid.get("dice_eager"), "mobile_optimized": (e.get("exporter") or {}).get("mobile_optimized"),
            "dense_file_bytes": dense, "floor_bytes": e.get("floor_bytes"), "dense_params": e.get("dense_params"),
            "graph_signature": (e.get("graph") or {}).get("signature"), "method_facts": method_facts(e),
            "input_shape": "x".join(map(str, e.get("input_shape") or [])) or None}


def method_facts(e: dict) -> str | None:
    """The facts a method declared of its export (`ExportForm.facts`, named in `method_facts`), those
    that are numbers or flags, as "name=value; ..."; None where it declared none."""
    shown = [f"{k}={e[k]}" for k in e.get("method_facts") or [] if isinstance(e.get(k), (bool, int, float))]
    return "; ".join(shown) or None


def train_row(t: dict) -> dict:
    return {**t["key"], "train_error": t.get("error"), "train_seconds": t.get("wall_seconds"),
            "train_peak_rss_kb": t.get("peak_rss_kb"),
            "best_val_dice": t.get("best_val_dice"), "best_epoch": t.get("best_epoch"),
            "epochs": len(t.get("epochs") or []), "budget": t.get("budget"), "role": t.get("role"),
            "control": t.get("control"), "last_quarter_gain": last_quarter_gain(t.get("epochs") or [])}


def last_quarter_gain(epochs: list[dict]) -> float | None:
    """How much the best validation Dice rose in the last quarter of the epochs: under 0.005, the
    training had converged (config/README.md). None with fewer than 4 epochs."""
    values = [e["val_dice"] for e in epochs]
    if len(values) < 4:
        return None
    cut = len(values) - len(values) // 4
    return max(values[cut:]) - max(values[:cut])


def sample_rows(r: dict) -> list[dict]:
    return [{**r["key"], "i": i, "ms": v} for i, v in enumerate(r.get("values") or [])]


def curve_rows(t: dict) -> list[dict]:
    """Per-epoch records, keeping scalar fields only (hooks may add lists)."""
    return [{**t["key"], **{k: v for k, v in e.items() if isinstance(v, (int, float, str, bool))}}
            for e in t.get("epochs") or []]
