"""`python -m frbench <command>`: the one entry point every Snakemake rule calls.

Each command is a thin parser over one function elsewhere; settings arrive as
JSON (`--config-json`, `--plan-json`), exactly the config blocks the job depends
on, so Snakemake's params trigger reruns a job when they change.
"""

from __future__ import annotations

import argparse
import json
import sys


def _input_arg(text: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not (sep and name.isidentifier() and path):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=CHECKPOINT, e.g. start=results/models/baseline/dense/"
                                         "seed0/model.pt")
    return name, path


def _json_arg(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None


def _required(p, *names, type=str):
    """Required options `--name` (a dash for an underscore), each of `type`."""
    for name in names:
        p.add_argument(f"--{name.replace('_', '-')}", required=True, type=type)


def _controls_arg(p):
    p.add_argument("--controls-json", type=_json_arg, help="what each control method is, by name "
                   "(frbench.methods.describe_controls; the workflow passes it, so that the job loads no method); "
                   "default: read from the registry")


def _key_args(p, *names):
    """The options that name one model: method, level, seed (an integer), fmt, device."""
    for name in names:
        _required(p, name, type=int if name == "seed" else str)


def _update_args(p, verb: str):
    """`--update-program` and `--update-weights`: the model as program plus weights file (a weights-only update)."""
    p.add_argument("--update-program", help=f"{verb} the model's program that takes a weights file")
    p.add_argument("--update-weights", help=f"{verb} that weights file")


def cmd_data(a):
    from .data import write_dataset

    write_dataset(a.config_json, a.out, a.record)


def cmd_train(a):
    from .build import build_model

    build_model(method=a.method, level=a.level, seed=a.seed, data=a.data, config=a.config_json, out=a.out,
                record_out=a.record, inputs=dict(a.input), threads=a.threads, progress=not a.no_progress)


def cmd_export(a):
    from pathlib import Path

    from .export import UpdateFiles, export_model

    update = UpdateFiles(Path(a.update_program), Path(a.update_weights)) if a.update_program else None
    record = export_model(key={"method": a.method, "level": a.level, "seed": a.seed, "fmt": a.fmt},
                          checkpoint=a.checkpoint, data=a.data, out=a.out, record_out=a.record, threads=a.threads,
                          update=update)
    if record["error"]:
        print(f"export failed; error recorded in {a.record}: {record['error']}", file=sys.stderr)


def cmd_bench(a):
    from .bench.job import bench_model

    update = (a.update_program, a.update_weights) if a.update_program else None
    result = bench_model(key={"method": a.method, "level": a.level, "seed": a.seed, "fmt": a.fmt}, device=a.device,
                         model=a.model, export_record=a.export_record, data=a.data, plan=a.plan_json, out=a.out,
                         update=update, checkpoint=a.checkpoint, profile_out=a.profile_out)
    if result["error"]:
        print(f"benchmark failed; error recorded in {a.out}: {result['error']}", file=sys.stderr)


def cmd_bench_one(a):
    from .bench.plan import Plan
    from .bench.worker import main

    main(a.model, a.fmt, a.data, Plan.from_dict(a.plan_json), a.out, weights=a.weights, checkpoint=a.checkpoint)


def cmd_summarize(a):
    from .io import atomic_write_text
    from .report.summary import gather

    results = gather(a.bench, a.exports, a.trains)
    atomic_write_text(a.samples, results.samples.to_csv(index=False))
    atomic_write_text(a.curves, results.curves.to_csv(index=False))
    atomic_write_text(a.dice, results.dice.to_csv(index=False))
    atomic_write_text(a.comparisons, results.comparisons.to_csv(index=False))
    atomic_write_text(a.out, results.summary.to_csv(index=False))


def cmd_answers(a):
    import pandas as pd

    from .io import atomic_write_text
    from .report.decisions import decide

    answers = decide(pd.read_csv(a.summary), pd.read_csv(a.dice), pd.read_csv(a.comparisons),
                     budget=a.config_json["report"]["dice_budget"], descriptions=a.controls_json)
    atomic_write_text(a.out, answers.to_csv(index=False))


def cmd_figures(a):
    from .report.figures import write_figures

    write_figures(a.summary, a.samples, a.curves, a.comparisons, a.answers, a.names, a.outdir, a.config_json["report"])


def cmd_report(a):
    from pathlib import Path

    import pandas as pd

    from .advice import snakemake_command
    from .io import atomic_write_json, atomic_write_text
    from .provenance import collect
    from .report.html import render_report
    from .report.tables import read_optional_csv

    summary = pd.read_csv(a.summary)
    provenance = collect(a.config_json)
    # Results made by other code than this report's: said in the report, never pooled silently.
    provenance["result_commits"] = sorted(summary["git_commit"].dropna().astype(str).unique())
    provenance["results_from_dirty_tree"] = bool(summary["git_dirty"].fillna(False).astype(bool).any())
    atomic_write_json(a.provenance, provenance)
    # the target before --configfile, which would take `all` for one more config file
    rerun = snakemake_command(files=a.configfile.split() if a.configfile else [], cores="all")
    figures = {Path(f).stem: Path(f) for f in a.figures}
    report = a.config_json["report"]
    html = render_report(summary, pd.read_csv(a.comparisons), pd.read_csv(a.answers), figures, provenance, rerun,
                         dice_budget=report["dice_budget"], fidelity_tolerance=report["fidelity_tolerance"],
                         curves=read_optional_csv(a.curves) if a.curves else None,
                         convergence_tolerance=report["convergence_tolerance"],
                         report_dir=str(Path(a.out).parent), controls=a.controls_json)
    atomic_write_text(a.out, html)


def cmd_reference(a):
    from .reference_job import import_reference

    record = import_reference(folder=a.dir, size=tuple(a.size), out_checkpoint=a.out_checkpoint,
                              out_dataset=a.out_dataset, out_record=a.out_record, threads=a.threads, score=a.score)
    dice = f"mean Dice {record['dice']:.4f}" if a.score else "not scored here (--no-score)"
    print(f"FR reference: {record['coefficients']} coefficients, {dice}, {record['dataset']['images']} images at "
          f"{a.size[0]}x{a.size[1]}")


def cmd_check_config(a):
    from .config import check_config_files

    check_config_files(*a.configfile)
    print(f"{', '.join(a.configfile)}: passes the workflow's checks")


def cmd_methods(a):
    from .methods import get_method, list_methods

    for name in list_methods():
        m = get_method(name)
        start = f"compresses its input {m.start_input!r}" if m.start_input else "builds its model afresh"
        made = "trained" if m.made_by == "train" else f"imported by rule {m.made_by}"
        print(f"{name}\t{m.role}\t{m.budget} budget\t{start}\t{made}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frbench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("data", help="build the dataset: npz + JSON record")
    p.add_argument("--config-json", type=_json_arg, required=True, help="the config's `data` block")
    p.add_argument("--out", required=True)
    p.add_argument("--record", required=True)
    p.set_defaults(func=cmd_data)

    p = sub.add_parser("train", help="build, train or fine-tune, and save one model")
    p.add_argument("method")
    _key_args(p, "level", "seed")
    p.add_argument("--data", required=True)
    p.add_argument("--config-json", type=_json_arg, required=True, help='{"unet", "train"|"finetune", "options"}')
    p.add_argument("--input", type=_input_arg, action="append", default=[], metavar="NAME=CHECKPOINT",
                   help="an input the method declares (Method.inputs), by name; once per input")
    p.add_argument("--out", required=True)
    p.add_argument("--record", required=True, help="train.json")
    p.add_argument("--threads", type=int)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("export", help="export one checkpoint to one format")
    _key_args(p, "method", "level", "seed", "fmt")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--record", required=True)
    p.add_argument("--threads", type=int)
    _update_args(p, "write")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("bench", help="benchmark one exported model on one device")
    _key_args(p, "device", "method", "level", "seed", "fmt")
    p.add_argument("--model", required=True)
    p.add_argument("--export-record", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--plan-json", type=_json_arg, required=True, help="the config's `bench` block")
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint", help="the model's checkpoint: its eager form is the profile's stand-in where the "
                   "runtime has no profiler")
    p.add_argument("--profile-out", help="where the whole per-operator profile goes (results/profiles/...)")
    _update_args(p, "also run")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("bench-one", help="(worker) time and score one model in this process")
    _required(p, "model", "fmt", "data", "out")
    p.add_argument("--plan-json", type=_json_arg, required=True, help="the plan (frbench.bench.Plan) as JSON")
    p.add_argument("--weights", help="a weights file that replaces the model's weights at load (a weights-only update)")
    p.add_argument("--checkpoint", help="the model's checkpoint, for the profile's stand-in")
    p.set_defaults(func=cmd_bench_one)

    p = sub.add_parser("summarize", help="gather result files into summary.csv")
    p.add_argument("--bench", nargs="*", default=[])
    p.add_argument("--exports", nargs="*", default=[])
    p.add_argument("--trains", nargs="*", default=[])
    p.add_argument("--out", required=True, help="summary.csv")
    p.add_argument("--samples", required=True, help="samples.csv: raw latency samples")
    p.add_argument("--curves", required=True, help="curves.csv: training epochs")
    p.add_argument("--dice", required=True, help="dice.csv: every model's Dice on every test image")
    p.add_argument("--comparisons", required=True, help="comparisons.csv: every model against its control")
    p.set_defaults(func=cmd_summarize)

    p = sub.add_parser("answers", help="answers.csv: each model against the baseline (keeps, loses or undecided) and "
                                       "the picks, from the study's tables")
    _required(p, "summary", "dice", "comparisons", "out")
    p.add_argument("--config-json", type=_json_arg, required=True, help='{"report": {...}}')
    _controls_arg(p)
    p.set_defaults(func=cmd_answers)

    p = sub.add_parser("figures", help="draw the figures (PNG, PDF) and tables (CSV, LaTeX) from the tables")
    _required(p, "summary", "samples", "curves", "comparisons", "answers", "outdir")
    p.add_argument("--names", nargs="+", required=True, help="the figures to draw")
    p.add_argument("--config-json", type=_json_arg, required=True, help='{"report": {...}}')
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("report", help="render report.html from summary.csv, comparisons.csv and the figures")
    p.add_argument("--summary", required=True)
    p.add_argument("--comparisons", required=True)
    p.add_argument("--answers", required=True, help="answers.csv (frbench answers)")
    p.add_argument("--curves", help="curves.csv: the training epochs, for the baseline's convergence")
    p.add_argument("--figures", nargs="*", default=[], help="PNG files to embed")
    p.add_argument("--config-json", type=_json_arg, required=True, help="the whole config, as run")
    p.add_argument("--configfile", help="the config file, for the rerun line")
    _controls_arg(p)
    p.add_argument("--provenance", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("reference", help="import the FR paper's released UNet (method fr_reference), with its test images")
    p.add_argument("--dir", required=True, help="folder with unet_fr.tar.xz and testimgs/ (../shared/fr_reference)")
    p.add_argument("--size", type=int, nargs=2, default=[640, 959], metavar=("H", "W"),
                   help="resize the test images to H x W (default: their full resolution, 640 959)")
    p.add_argument("--out-checkpoint", required=True, help="model.pt (method fr_reference, level k33, seed 0)")
    p.add_argument("--out-dataset", required=True, help=".npz whose test split holds the 16 images")
    p.add_argument("--out-record", required=True, help="JSON: what was imported and its Dice, measured here")
    p.add_argument("--threads", type=int)
    p.add_argument("--score", action=argparse.BooleanOptionalAction, default=True,
                   help="score the 16 images here (--no-score: the workflow's export scores them with the same model)")
    p.set_defaults(func=cmd_reference)

    p = sub.add_parser("check-config", help="check a study config file as the workflow does, naming the file")
    p.add_argument("configfile", nargs="+", help="the config file(s), as given to snakemake --configfile (merged in order)")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("methods", help="list the registered methods: role, budget, what they start from, how made")
    p.set_defaults(func=cmd_methods)
    return parser


def main(argv=None) -> int:
    from .errors import FrbenchError

    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except FrbenchError as e:
        print(f"frbench {args.command}: error: {e}", file=sys.stderr)
        return 1
    return 0
