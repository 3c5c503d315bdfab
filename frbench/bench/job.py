"""The benchmark job: one exported model on one device -> bench/{device}/.../{fmt}.json."""

from __future__ import annotations

import dataclasses
import sys

from ..io import atomic_write_json, read_json
from ..provenance import stamp
from .plan import Plan
from .profile import short
from .result import check_result, empty_result, with_stats
from .runner import runner_for
from .sweep import split_label
from .verify import check_exported


def bench_model(*, key: dict, device: str, model: str, export_record: str, data: str, plan: dict, out: str,
                update: tuple[str, str] | None = None, checkpoint: str | None = None,
                profile_out: str | None = None) -> dict:
    """The plan run on the exported file; with `update` (program, weights file) and the plan's
    `weights_update`, run again on that pair in a worker of its own, under `weights_update` (timed and
    scored; the heap and profile passes are the whole file's). Each file is checked against the sha256
    its export record holds first (`check_exported`). `device` may carry a thread count of a sweep
    (`host@t4`, frbench.bench.sweep); the result's key keeps it. With `profile_out`, the whole profile
    goes there and the result keeps its summary (`frbench.bench.profile.short`)."""
    plan_ = Plan.from_dict(plan)
    runner = runner_for(split_label(device, plan)[0])
    exported = {}
    try:
        exported = read_json(export_record)
        if exported.get("error"):
            result = empty_result(runner=runner.name, model=model, fmt=key["fmt"], plan=plan,
                                  error=f"export failed ({export_record}): {exported['error']}")
        else:
            check_exported(export_record, exported, model=model)
            result = check_result(with_stats(runner.run(model, key["fmt"], data, plan_, checkpoint=checkpoint)),
                                  source=device)
    except Exception as e:  # noqa: BLE001 - an unreadable record or a lost device is an error row
        print(f"benchmark of {model} on {device} failed: {e}", file=sys.stderr)
        result = empty_result(runner=runner.name, model=model, fmt=key["fmt"], plan=plan, error=f"{type(e).__name__}: {e}")
    if update is not None and plan_.weights_update and not exported.get("error"):
        timed_only = dataclasses.replace(plan_, heap=False, profile=False, cooldown_s=0.0)
        result["weights_update"] = _bench_update(runner, update, key["fmt"], data, timed_only, export_record, exported)
    result["key"] = {**key, "device": device}
    result["plan"] = plan_.to_dict()
    # the worker's threads (the plan's); this process only starts it, and never loads torch
    result["provenance"] = stamp({"plan": result["plan"], "key": result["key"]}, threads=plan_.threads)
    if profile_out is not None:
        write_profile(result, profile_out)
    atomic_write_json(out, check_result(result, source=out))
    return result


def _bench_update(runner, update, fmt, data, plan: Plan, export_record: str, exported: dict) -> dict:
    """The plan run on the model as program plus weights file; an error row when the export has no such pair."""
    program, weights = update
    written = (exported.get("exporter") or {}).get("weights_update")
    if not written or written.get("error"):
        why = (written or {}).get("error") or f"{exported.get('file', 'the export')} was written without one"
        return empty_result(runner=runner.name, model=program, fmt=fmt, plan=plan.to_dict(),
                            error=f"no weights-only update: {why}")
    try:
        check_exported(export_record, exported, update=update)
        return check_result(with_stats(runner.run(program, fmt, data, plan, weights=weights)),
                            source=f"{runner.device_name} ({program} with {weights})")
    except Exception as e:  # noqa: BLE001 - a changed file or a lost device is an error row, as for the whole file
        return empty_result(runner=runner.name, model=program, fmt=fmt, plan=plan.to_dict(),
                            error=f"{type(e).__name__}: {e}")


def write_profile(result: dict, path: str) -> None:
    """The whole profile into `path` (results/profiles/...), and its summary into the result; where no
    profile was taken (the pass is off, the run failed), a file that says so."""
    prof = result.get("profile") or {"available": False,
                                     "reason": result.get("error") or "no profile pass ran (bench.profile: false)"}
    atomic_write_json(path, {"key": result.get("key"), "model": (result.get("model") or {}).get("path"),
                             "runtime": result.get("runtime"), **prof})
    if result.get("profile") is not None:
        result["profile"] = short(prof, str(path))
