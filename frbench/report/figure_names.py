"""Which figures a study draws, from its config alone.

Apart from frbench.report.figures (which imports matplotlib and seaborn) because the workflow
asks it while Snakemake parses it, on every run: the names become `figures` rule outputs.
Each name is a figure registered in frbench.report.figures.FIGURES.
"""

from __future__ import annotations


def figure_names(config: dict) -> list[str]:
    names = ["dice_vs_size", "dice_vs_latency", "latency_distributions", "heap_memory", "peak_memory", "training_curves"]
    if "fr" in config["methods"]:
        names.append("fr_kept_vs_dice")
    if len(config["devices"]) > 1 or config["devices"] == ["auto"]:
        names.append("host_vs_device")
    if len(config["formats"]) > 1:
        names.append("runtime_latency")
    if {"ptl", "pte"} <= set(config["formats"]):
        names.append("ptl_vs_pte")
    return names
