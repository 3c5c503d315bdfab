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

from frbench.advice import CONFIGFILES_ENV
from frbench.bench.devices import resolve_devices
from frbench.bench.sweep import device_labels
from frbench.config import check_study
from frbench.hostinfo import usable_cores
from frbench.methods import get_method, with_controls
from frbench.report.figure_names import figure_names

validate(config, workflow.source_path("../schemas/config.schema.yaml"), set_default=True)
check_study(config)

# Jobs run `python -m frbench`: the interpreter running snakemake comes first on
# PATH, so a job sees the same frbench even when its virtualenv is not activated.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
# TorchScript's `torch.jit.script` writes some constants in Python's set order, which follows the
# hash seed: FR's compact `.ptl` (scripted, not traced) would differ in bytes from run to run.
# Every job gets the same seed, so the same config gives the same files.
# (--lint reports PATH and PYTHONHASHSEED as environment variables "used but not asserted
# with envvars": both are written here, not read as inputs, so there is nothing to assert;
# the same holds for the config files below.)
os.environ["PYTHONHASHSEED"] = "0"
# The config files of this run, for the commands error messages give (frbench.advice): a job that
# finds a damaged file says how to rebuild it, and that command must name the same study.
os.environ[CONFIGFILES_ENV] = os.pathsep.join(map(str, workflow.overwrite_configfiles))
# A machine runs at most as many threads at once as it has cores. `snakemake --cores 8 all` on a
# 2-core laptop would start four jobs per core, each slowed by the others (and OpenMP threads that
# spin while they wait slow them far more): run locally, the study is scheduled on the cores there are.
CPUS = usable_cores()
if workflow.local_exec and (workflow.resource_settings.cores or 0) > CPUS:
    logger.warning(
        f"--cores {workflow.resource_settings.cores} is more than the {CPUS} cores this machine "
        f"lets snakemake use: jobs are scheduled on {CPUS}, as more would only slow each other down"
    )
    workflow.register_resource("_cores", CPUS)
METHODS = config["methods"]
# Every model to train: the configured methods' levels, and the equal-budget controls their rows
# are compared with (baseline_ft for post-training methods, small_dense for FR levels; Method.control).
MODELS = with_controls(METHODS, config["model"])
NO_METHOD = "(?!)"  # a wildcard constraint no name matches (the `train` template's own)
SEEDS = config["seeds"]
FORMATS = config["formats"]
DEVICES = resolve_devices(config["devices"])  # `auto`: the attached phones and emulators, else the host
DATASET = "results/data/dataset.npz"
# The FR paper's released model (frbench reference), when the config names its folder: one
# more model to export and benchmark, on a dataset of its own (its 16 test images).
REFERENCE = config.get("reference")
REFERENCE_METHOD = "fr_reference"
REFERENCE_DATASET = "results/data/fr_reference.npz"
REFERENCE_LEVEL, REFERENCE_SEED = "k33", 0  # the paper's model: every conv kept to its 33 first coefficients
REFERENCE_MODEL = f"{REFERENCE_METHOD}/{REFERENCE_LEVEL}/seed{REFERENCE_SEED}"
REFERENCE_KEYS = [(REFERENCE_METHOD, REFERENCE_LEVEL, REFERENCE_SEED)] if REFERENCE else []
FIGURE_NAMES = figure_names(config)
TABLE_NAMES = ["comparison", "answers", "paper_table"]


wildcard_constraints:
    method="|".join([*MODELS, *([REFERENCE_METHOD] if REFERENCE else [])]),
    level=r"[A-Za-z0-9][A-Za-z0-9._-]*",
    seed=r"\d+",
    fmt="|".join(FORMATS),
    device=r"[A-Za-z0-9._:@-]+",


def model_keys():
    """(method, level, seed) of every model to train: the configured ones and their controls."""
    return [(m, level, seed) for m, levels in MODELS.items() for level in levels for seed in SEEDS]


def exported_keys():
    """(method, level, seed) of every model to export and benchmark: the trained ones and the FR reference."""
    return [*model_keys(), *REFERENCE_KEYS]


def train_records():
    return [f"results/models/{m}/{level}/seed{seed}/train.json" for m, level, seed in model_keys()]


def export_records():
    return [
        f"results/export/{m}/{level}/seed{seed}/export_{fmt}.json" for m, level, seed in exported_keys() for fmt in FORMATS
    ]


def bench_results():
    return [
        f"results/bench/{device}/{m}/{level}/seed{seed}/{fmt}.json"
        for device in device_labels(DEVICES, config["bench"])
        for m, level, seed in exported_keys()
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


def dataset_for(wildcards):
    """The dataset a model is exported and benchmarked on: the study's, or the FR reference's own."""
    return REFERENCE_DATASET if wildcards.method == REFERENCE_METHOD else DATASET


def bench_plan(wildcards):
    """The benchmark plan as JSON; the FR reference's may override it (`reference.bench`:
    a full-resolution UNet-31M inference takes seconds)."""
    plan = dict(config["bench"])
    if wildcards.method == REFERENCE_METHOD:
        plan.update(REFERENCE.get("bench") or {})
    return json.dumps(plan, sort_keys=True)


def reference_files(wildcards):
    """The released model's archive and test images, from the config's `reference.dir`."""
    return {
        "archive": os.path.join(_reference()["dir"], "unet_fr.tar.xz"),
        "images": os.path.join(_reference()["dir"], "testimgs"),
    }


def reference_param(key):
    """A `reference` config value as a rule parameter (a list joined by spaces)."""

    def value(wildcards):
        v = _reference()[key]
        return " ".join(map(str, v)) if isinstance(v, list) else v

    return value


def reference_results(wildcards):
    """What the `reference` target asks for: the reference's export records and benchmarks."""
    _reference()
    return [path for path in [*export_records(), *bench_results()] if f"/{REFERENCE_METHOD}/" in path]


def _reference():
    if not REFERENCE:
        raise ValueError(
            "the FR reference is not configured: add `reference: {dir: ../shared/fr_reference}` "
            "to the config (config/README.md, `reference`)"
        )
    return REFERENCE


def every_core(wildcards):
    """A benchmark job's claim: every core this run of snakemake schedules on, so that no training or
    export shares the CPU with a timing. Asked per job, so that commands that run none (`--report`,
    a dry run) need no `--cores`. Under a cluster executor the benchmark is a local job and `--cores`
    (if given) counts the cluster's cores: the claim is then the submitting machine's cores, and what
    keeps a second benchmark off that machine is the `whole_host` resource (workflow/rules/bench.smk)."""
    settings = workflow.resource_settings
    if not workflow.local_exec:
        return settings.local_cores or CPUS
    return settings.cores or CPUS


def baseline_checkpoint(wildcards):
    """Post-training methods start from the baseline of the same seed."""
    return f"results/models/baseline/dense/seed{wildcards.seed}/model.pt"


def train_inputs(wildcards):
    """The dataset, and for a post-training method the baseline of the same seed."""
    inputs = {"data": DATASET}
    if get_method(wildcards.method).from_baseline:
        inputs["baseline"] = baseline_checkpoint(wildcards)
    return inputs


def baseline_argument(wildcards):
    """`--baseline CHECKPOINT` for a post-training method, nothing for one trained from scratch."""
    return f"--baseline {baseline_checkpoint(wildcards)}" if get_method(wildcards.method).from_baseline else ""
