"""Statistics derived from raw latency samples, and pyperf's stability checks.

The raw samples are the record; everything here is recomputed from them. The
Android app (android_bench, `Stats.java`) implements the same definitions:
std is the sample standard deviation (n-1), percentiles interpolate linearly
between closest ranks (numpy's default), the trimmed mean drops floor(n/10)
samples at each end (the middle 80 %).
"""

from __future__ import annotations

import math

import numpy as np

STAT_NAMES = ("mean", "std", "min", "p50", "p90", "p99", "max", "trimmed_mean")


def trimmed_mean(values, fraction: float = 0.1) -> float:
    v = np.sort(np.asarray(values, dtype=np.float64))
    cut = math.floor(fraction * len(v))
    return float(v[cut : len(v) - cut].mean())


def summarize(values) -> dict:
    """mean, std, min, p50, p90, p99, max, trimmed_mean of the samples (None when empty)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return {k: None for k in STAT_NAMES}
    p50, p90, p99 = np.percentile(v, [50, 90, 99])
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "min": float(v.min()),
            "p50": float(p50), "p90": float(p90), "p99": float(p99), "max": float(v.max()),
            "trimmed_mean": trimmed_mean(v)}


def stability_warnings(values) -> list[str]:
    """pyperf's `format_checks`: when the numbers may not be trusted, say why."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return ["fewer than 2 samples: no spread can be estimated"]
    warnings, mean = [], v.mean()
    if v.std(ddof=1) >= 0.10 * mean:
        warnings.append(f"std is {100 * v.std(ddof=1) / mean:.0f}% of the mean (>= 10%): the result may be unstable")
    if v.min() < 0.5 * mean or v.max() > 1.5 * mean:
        warnings.append("min or max is 50% or more away from the mean: the result may be unstable")
    if v.min() < 1.0:
        warnings.append(f"shortest sample is {v.min():.3f} ms (< 1 ms): timer resolution and overhead weigh on it")
    return warnings
