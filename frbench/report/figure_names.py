"""Which figures a study draws, from its config alone.

Apart from frbench.report.figures (which imports matplotlib and seaborn) because the workflow
asks it while Snakemake parses it, on every run: the names become `figures` rule outputs.
Each name is a figure registered in frbench.report.figures.FIGURES. A figure only one method's
rows make is that method's declaration (`Method.figures`), drawn when the study configures it.
"""

from __future__ import annotations


def figure_names(config: dict) -> list[str]:
    from ..methods import get_method

    names = ["dice_vs_size", "dice_vs_latency", "latency_distributions", "heap_memory", "peak_memory", "training_curves"]
    for method in config["methods"]:
        names += [name for name in get_method(method).figures if name not in names]
    if len(config["devices"]) > 1 or config["devices"] == ["auto"]:
        names.append("host_vs_device")
    if len(config["formats"]) > 1:
        names.append("runtime_latency")
    return names
