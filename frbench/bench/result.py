"""The benchmark result file (format 1): build, check, and derive.

Both runners write the keys of `result.schema.json` beside this file; the Android
app writes the same keys from Java. Statistics are stored for convenience but
`with_stats` recomputes them from the raw samples whenever a result is read.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from pathlib import Path

import jsonschema

from ..errors import BenchError
from .stats import stability_warnings, summarize

FORMAT = 1
_SCHEMA = Path(__file__).with_name("result.schema.json")


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(_SCHEMA.read_text())


def empty_result(*, runner: str, model: str, fmt: str, plan: dict, error: str | None = None) -> dict:
    """A result with every measured field null: the shape of an error row."""
    return {"format": FORMAT, "unit": "ms", "error": error, "runner": runner,
            "model": {"path": str(model), "fmt": fmt, "bytes": None},
            "plan": {k: plan[k] for k in ("warmup", "iters", "threads")},
            "load_ms": None, "first_inference_ms": None, "warmups": None, "values": None, "stats": None,
            "memory": None, "accuracy": None, "runtime": None, "device": None,
            "metadata": {"date": utc_now()}}


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def with_stats(result: dict) -> dict:
    """Recompute `stats` and `warnings` from the raw samples."""
    values = result.get("values") or []
    result["stats"] = summarize(values) if values else None
    result["warnings"] = stability_warnings(values) if values else []
    return result


def check_result(result: dict, source: str) -> dict:
    """Validate against the schema; `source` (a file or device) is named in the error."""
    try:
        jsonschema.validate(result, schema())
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "(top level)"
        raise BenchError(f"{source}: benchmark result does not match format {FORMAT} at {where}: {e.message}") from None
    return result
