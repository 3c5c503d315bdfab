# Config validation, wildcard constraints, target lists and the small helpers the rules share.
#
# `snakemake --lint` asks for a conda environment or container per rule. Not given, on
# purpose: every rule runs one tool, the frbench package, from the environment that
# runs snakemake itself (environment.yml or pyproject.toml, with the same pins). A
# per-rule environment would have to install frbench from this working tree, which
# the environment files snakemake copies under .snakemake/conda cannot point at.
import json
import os
import re
import sys
from pathlib import Path

from frbench.advice import CONFIGFILES_ENV
from frbench.bench.devices import resolve_devices
from frbench.bench.sweep import device_labels
from frbench.config import study_models, validate_study
from frbench.hostinfo import usable_cores
from frbench.methods import MethodContext, describe_controls, get_method
from frbench.report.figure_names import figure_names

# Levels written as numbers, the schema (defaults filled in), each method's options, and the values
# that cannot go together: refused here, before any job (frbench.config.validate_study).
validate_study(config)

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
# Every model of the study, (method, level, seed): the configured methods' levels, the models they
# take as inputs, the equal-budget controls their rows are compared with (Method.inputs, Method.control),
# and the models it imports (Method.imported: the FR paper's released model, when `reference` is set).
MODELS = study_models(config)
TRAINED = sorted({m for m, _, _ in MODELS if get_method(m).made_by == "train"})
SEEDS = config["seeds"]
FORMATS = config["formats"]
DEVICES = resolve_devices(config["devices"])  # `auto`: the attached phones and emulators, else the host
DATASET = "results/data/dataset.npz"
# What each control method is, for the answers and the report: from the registry loaded here, so that
# those jobs load no method (and no torch: about 1.5 s of CPU each); a changed description reruns them.
CONTROLS_JSON = json.dumps(describe_controls(), sort_keys=True)
FIGURE_NAMES = figure_names(config)
TABLE_NAMES = ["comparison", "answers", "paper_table"]


def one_of(names):
    """A wildcard constraint matching exactly these names (a chain's name holds '+')."""
    return "|".join(re.escape(name) for name in sorted(names)) or "(?!)"


wildcard_constraints:
    method=one_of({m for m, _, _ in MODELS}),
    level=r"[A-Za-z0-9][A-Za-z0-9._+-]*",
    seed=r"\d+",
    fmt="|".join(FORMATS),
    device=r"[A-Za-z0-9._:@-]+",


def model_keys():
    """(method, level, seed) of every model the study trains."""
    return [key for key in MODELS if key[0] in TRAINED]


def train_records():
    return [f"results/models/{m}/{level}/seed{seed}/train.json" for m, level, seed in model_keys()]


def export_records(keys=MODELS):
    return [f"results/export/{m}/{level}/seed{seed}/export_{fmt}.json" for m, level, seed in keys for fmt in FORMATS]


def bench_results(keys=MODELS):
    return [
        f"results/bench/{device}/{m}/{level}/seed{seed}/{fmt}.json"
        for device in device_labels(DEVICES, config["bench"])
        for m, level, seed in keys
        for fmt in FORMATS
    ]


def all_targets():
    return ["results/report.html", "results/summary.csv", "results/provenance.json", *rules.figures.output]


def checkpoint(method, level, seed):
    return f"results/models/{method}/{level}/seed{seed}/model.pt"


def method_at(wildcards):
    """The job's method at its level, with the study's options for it (declarations only)."""
    cls = get_method(wildcards.method)
    return cls(wildcards.level, MethodContext(unet=config["model"], params=cls.config_block(config)))


def train_inputs(wildcards):
    """The dataset, and the checkpoint of every model of the same seed the method takes as an input
    (Method.inputs): named rule inputs, so that snakemake trains them first and reruns this job when
    one changes."""
    inputs = {"data": DATASET}
    for name, ref in method_at(wildcards).inputs().items():
        if name in inputs:
            raise ValueError(f"{wildcards.method}: an input may not be named {name!r} (the dataset's name)")
        inputs[name] = checkpoint(ref.method, ref.level, wildcards.seed)
    return inputs


def input_arguments(wildcards):
    """`--input NAME=CHECKPOINT` for each of them."""
    named = train_inputs(wildcards)
    return " ".join(f"--input {name}={path}" for name, path in named.items() if name != "data")


def job_config(wildcards):
    """What changes a training job's output besides its level, as one JSON string (a params value,
    so that a change reruns exactly the jobs it concerns, and adding a level runs that level alone):
    the model block, the method's budget block, and its options (Method.config_block)."""
    cls = get_method(wildcards.method)
    options = cls.config_block(config)
    return json.dumps({"unet": config["model"], cls.budget: config[cls.budget], "options": options}, sort_keys=True)


def gpu_claim(wildcards):
    """A GPU for a training job, unless its method trains on the CPU (Method.trains_on_gpu)."""
    return int(get_method(wildcards.method).trains_on_gpu)


def dataset_for(wildcards):
    """The dataset a model is exported and benchmarked on (Method.dataset): the study's, or one of
    its own that the rule importing it writes."""
    return f"results/data/{get_method(wildcards.method).dataset}.npz"


def bench_plan(wildcards):
    """The benchmark plan as JSON (Method.bench_plan: the study's, which an imported model may override)."""
    return json.dumps(get_method(wildcards.method).bench_plan(config), sort_keys=True)


def imported_keys(rule_name):
    """(method, level, seed) of the models `rule_name` imports (Method.made_by)."""
    return [key for key in MODELS if get_method(key[0]).made_by == rule_name]


def reference_block():
    """The study's `reference` block (the FR paper's released model, imported by import_reference)."""
    block = config.get("reference")
    if not block:
        raise ValueError(
            "the FR reference is not configured: add `reference: {dir: ../shared/fr_reference}` "
            "to the config (config/README.md, `reference`)"
        )
    return block


def reference_files(wildcards):
    """The released model's archive and test images, from the config's `reference.dir`."""
    folder = reference_block()["dir"]
    return {"archive": os.path.join(folder, "unet_fr.tar.xz"), "images": os.path.join(folder, "testimgs")}


def reference_param(key):
    """A `reference` config value as a rule parameter (a list joined by spaces)."""

    def value(wildcards):
        v = reference_block()[key]
        return " ".join(map(str, v)) if isinstance(v, list) else v

    return value


def reference_results(wildcards):
    """What the `reference` target asks for: the imported models' export records and benchmarks."""
    reference_block()
    keys = imported_keys("import_reference")
    return [*export_records(keys), *bench_results(keys)]


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
