# Config validation, wildcard constraints, target lists and the small helpers the rules share.
#
# `snakemake --lint` asks for a conda environment or container per rule. Not given, on
# purpose: every rule runs one tool, the frbench package, from the environment that
# runs snakemake itself (environment.yml or pyproject.toml, with the same pins). A
# per-rule environment would have to install frbench from this working tree, which
# the environment files snakemake copies under .snakemake/conda cannot point at.
import json
import os
import sys
from pathlib import Path

from snakemake.utils import validate

from frbench.bench.devices import resolve_devices
from frbench.config import check_study
from frbench.methods import get_method
from frbench.report.figures import figure_names


validate(config, workflow.source_path("../schemas/config.schema.yaml"), set_default=True)
check_study(config)

# Jobs run `python -m frbench`: the interpreter running snakemake comes first on
# PATH, so a job sees the same frbench even when its virtualenv is not activated.
# (--lint reports PATH as an environment variable "used but not asserted with
# envvars": it is written here, not read as an input, so there is nothing to assert.)
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
METHODS = config["methods"]
SEEDS = config["seeds"]
FORMATS = config["formats"]
DEVICES = resolve_devices(config["devices"])  # `auto`: the attached phones and emulators, else the host
DATASET = "results/data/dataset.npz"
FIGURE_NAMES = figure_names(config)
TABLE_NAMES = ["comparison", "answers", "paper_table"]


wildcard_constraints:
    method="|".join(METHODS),
    level=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    seed=r"\d+",
    fmt="|".join(FORMATS),
    device=r"[A-Za-z0-9._:-]+",


def model_keys():
    """(method, level, seed) of every model the config asks for."""
    return [(m, level, seed) for m, block in METHODS.items() for level in block["levels"] for seed in SEEDS]


def train_records():
    return [f"results/models/{m}/{level}/seed{seed}/train.json" for m, level, seed in model_keys()]


def export_records():
    return [f"results/export/{m}/{level}/seed{seed}/export_{fmt}.json" for m, level, seed in model_keys() for fmt in FORMATS]


def bench_results():
    return [
        f"results/bench/{device}/{m}/{level}/seed{seed}/{fmt}.json"
        for device in DEVICES
        for m, level, seed in model_keys()
        for fmt in FORMATS
    ]


def all_targets():
    return ["results/report.html", "results/summary.csv", "results/provenance.json", *rules.figures.output]


def method_config(method):
    """The config blocks a method's jobs depend on, as one JSON string (a params value,
    so that changing any of them reruns exactly these jobs)."""
    budget = "finetune" if get_method(method).from_baseline else "train"
    # A method's rule is parsed even when this study does not configure it (it is then never targeted).
    params = METHODS.get(method, {})
    return json.dumps({"unet": config["model"], budget: config[budget], "params": params}, sort_keys=True)


def baseline_checkpoint(wildcards):
    """Post-training methods start from the baseline of the same seed."""
    return f"results/models/baseline/dense/seed{wildcards.seed}/model.pt"
