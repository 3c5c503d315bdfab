"""What the benchmark protocol's passes add to a summary row (issue #26): the heap pass (memray), PSS
on a device, the profile pass and the device's thermal state. One function from one result file, so that
`summary.csv` gains these columns in one line (frbench.report.summary); every column is empty for a
result written before them."""

from __future__ import annotations

TOP_SHOWN = 3  # operators named in the `profile_top` column; the profile file keeps them all


def protocol_columns(r: dict) -> dict:
    heap, mem = r.get("heap") or {}, r.get("memory") or {}
    prof, state = r.get("profile") or {}, r.get("device_state") or {}
    summary = prof.get("summary") or {}
    moved = state.get("moved")
    return {
        # native heap bytes (frbench.bench.heap), peak RSS stays in peak_rss_kb as context
        "heap_after_load_bytes": heap.get("held_after_load"),
        "heap_after_first_bytes": heap.get("held_after_first_inference"),
        "heap_peak_bytes": heap.get("peak_inference"),
        "heap_peak_first_bytes": heap.get("peak_first_inference"),
        "heap_tool": heap.get("tool"), "heap_error": heap.get("error"),
        # Android's Debug.getPss(), where the app measured it
        "pss_before_load_kb": mem.get("pss_before_load"), "pss_after_load_kb": mem.get("pss_after_load"),
        "pss_after_runs_kb": mem.get("pss_after_runs"),
        # where the time goes (frbench.bench.profile)
        "profile_source": prof.get("source") if prof.get("available") else None,
        "profile_stand_in": prof.get("stand_in"),
        "profile_unavailable": None if prof.get("available", True) else prof.get("reason"),
        "profile_file": prof.get("file"),
        "profile_top": top_text(summary.get("top") or []) or None,
        "first_call_extra_share": summary.get("first_call_extra_share"),
        "load_ops_share": summary.get("load_ops_share"),
        # a device's thermal state around the model (frbench.bench.android.thermal)
        "device_state_moved": "; ".join(moved) if moved else None,
        "cooldown_s": (state.get("cooldown") or {}).get("waited_s"),
        "cpu_temp_before_c": (state.get("before") or {}).get("cpu_temp_c"),
        "cpu_temp_after_c": (state.get("after") or {}).get("cpu_temp_c"),
    }


def top_text(top: list[dict], n: int = TOP_SHOWN) -> str:
    """"aten::conv2d 62%; aten::relu 9%": a later call's costliest operators and their shares."""
    return "; ".join(f"{t['op']} {100 * t['share']:.0f}%" for t in top[:n] if t.get("share") is not None)
