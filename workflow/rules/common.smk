# Config validation, wildcard constraints, target lists and the small helpers the rules share.
import json
import sys
from pathlib import Path

from snakemake.utils import validate

from frbench.config import check_study
from frbench.methods import get_method


validate(config, workflow.source_path("../schemas/config.schema.yaml"), set_default=True)
check_study(config)

# The interpreter that runs snakemake runs every job, so jobs see the same frbench.
PYTHON = sys.executable
METHODS = config["methods"]
SEEDS = config["seeds"]
FORMATS = config["formats"]
DEVICES = config["devices"]
DATASET = "results/data/dataset.npz"


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
    return ["results/report.html", "results/summary.csv", "results/provenance.json"]


def method_config(method):
    """The config blocks a method's jobs depend on, as one JSON string (a params value,
    so that changing any of them reruns exactly these jobs)."""
    budget = "finetune" if get_method(method).from_baseline else "train"
    return json.dumps({"unet": config["model"], budget: config[budget], "params": METHODS[method]}, sort_keys=True)


def baseline_checkpoint(wildcards):
    """Post-training methods start from the baseline of the same seed."""
    return f"results/models/baseline/dense/seed{wildcards.seed}/model.pt"
