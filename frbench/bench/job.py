"""The benchmark job: one exported model on one device -> bench/{device}/.../{fmt}.json."""

from __future__ import annotations

import sys

from ..io import atomic_write_json, read_json
from ..provenance import stamp
from .plan import Plan
from .result import check_result, empty_result, with_stats
from .runner import runner_for
from .verify import check_exported


def bench_model(*, key: dict, device: str, model: str, export_record: str, data: str, plan: dict, out: str,
                update: tuple[str, str] | None = None) -> dict:
    """The plan run on the exported file; with `update` (program, weights file) and the plan's
    `weights_update`, run again on that pair in a worker of its own, under `weights_update`. Each file
    is checked against the sha256 its export record holds first (`check_exported`)."""
    plan_ = Plan.from_dict(plan)
    runner = runner_for(device)
    exported = {}
    try:
        exported = read_json(export_record)
        if exported.get("error"):
            result = empty_result(runner=runner.name, model=model, fmt=key["fmt"], plan=plan,
                                  error=f"export failed ({export_record}): {exported['error']}")
        else:
            check_exported(export_record, exported, model=model)
            result = check_result(with_stats(runner.run(model, key["fmt"], data, plan_)), source=device)
    except Exception as e:  # noqa: BLE001 - an unreadable record or a lost device is an error row
        print(f"benchmark of {model} on {device} failed: {e}", file=sys.stderr)
        result = empty_result(runner=runner.name, model=model, fmt=key["fmt"], plan=plan, error=f"{type(e).__name__}: {e}")
    if update is not None and plan_.weights_update and not exported.get("error"):
        result["weights_update"] = _bench_update(runner, update, key["fmt"], data, plan_, export_record, exported)
    result["key"] = {**key, "device": device}
    result["plan"] = plan_.to_dict()
    # the worker's threads (the plan's); this process only starts it, and never loads torch
    result["provenance"] = stamp({"plan": result["plan"], "key": result["key"]}, threads=plan_.threads)
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
