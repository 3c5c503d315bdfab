"""ONNX Runtime on the host: the `onnxruntime` wheel's CPU execution provider, the runtime the Android app
uses through `onnxruntime-android` (`OnnxRuntimeRunner`).

The session is set up as a mobile app sets it up, and as `onnxruntime_perf_test` does by default
(`-o 99`, `-x`): every graph optimization (`ORT_ENABLE_ALL`, ONNX Runtime's own default; the
app's `OptLevel.ALL_OPT`), `bench.threads` intra-op threads (`torch.get_num_threads()`, which the
benchmark worker has fixed to the plan's), one inter-op thread and sequential execution (a UNet is
a chain; no parallel branches to feed). What was set is recorded with every result
(`metadata.session`). Creating the session is the load (`load_ms`): ONNX Runtime reads the file,
optimizes the graph and folds what is constant, so FR's unpack (its inverse DCT, computed in the
graph from the stored coefficients) runs there, once per load, and the first inference runs plain
convolutions (frbench.formats.onnx.clean).

A weights-only update's program names its weights file by name (ONNX's external data); ONNX Runtime
reads it from the program's folder, so the two must sit side by side, as the export writes them and
the Android runner pushes them.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ...advice import rebuild_advice
from ..profiling import phase

PROVIDERS = ["CPUExecutionProvider"]
OPTIMIZATION = "ORT_ENABLE_ALL"


def _ort():
    import onnxruntime

    return onnxruntime


@dataclass
class Session:
    session: object  # onnxruntime.InferenceSession
    input: str  # the graph input's name
    options: dict = field(default_factory=dict)  # what was set, as recorded


def session_options(threads: int):
    """ONNX Runtime's session options as the benchmark sets them, and the same as a dict for the record."""
    ort = _ort()
    so = ort.SessionOptions()
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPTIMIZATION)
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3  # errors only: its warnings would fill every job's log
    record = {"graph_optimization_level": OPTIMIZATION, "intra_op_num_threads": threads, "inter_op_num_threads": 1,
              "execution_mode": "ORT_SEQUENTIAL", "providers": PROVIDERS,
              "enable_cpu_mem_arena": so.enable_cpu_mem_arena, "enable_mem_pattern": so.enable_mem_pattern}
    return so, record


class OnnxRuntime:
    """The host runtime side of `frbench.formats.onnx.OnnxFormat`."""

    @staticmethod
    def runtime_version() -> str:
        return _ort().__version__

    @staticmethod
    def prepare() -> None:
        """Import ONNX Runtime's library, so that it is in memory before `rss_before_load` and outside `load_ms`."""
        _ort()

    @staticmethod
    def load(path, weights=None) -> Session:
        """A session of the file at `path`; with `weights`, the program at `path` with the external data
        file `weights` (which must sit beside it, under the name the program records)."""
        ort = _ort()
        if weights is not None and Path(weights).resolve().parent != Path(path).resolve().parent:
            raise RuntimeError(f"{path}: ONNX Runtime reads a program's external data from the program's folder, "
                               f"under the name the program records; put {weights} beside it")
        so, record = session_options(torch.get_num_threads())
        try:
            session = ort.InferenceSession(str(path), so, providers=PROVIDERS)
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own pybind classes (InvalidProtobuf, Fail, ...)
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            what = f"{path} with the weights file {weights}" if weights is not None else str(path)
            raise RuntimeError(f"{what}: ONNX Runtime could not load it ({first}): a truncated or corrupt .onnx, "
                               f"or a weights file that is not its own; {rebuild_advice(path)}") from None
        return Session(session=session, input=session.get_inputs()[0].name, options=record)

    @staticmethod
    def run(loaded: Session, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(loaded.session.run(None, {loaded.input: x.contiguous().numpy()})[0])

    @staticmethod
    def session(loaded: Session) -> dict:
        return dict(loaded.options)

    @classmethod
    def profile(cls, path, weights, x: torch.Tensor, runs: int) -> dict:
        """ONNX Runtime's session profiling (`SessionOptions.enable_profiling`, the trace
        `onnxruntime_perf_test -p` writes): each node's kernel time, by operator type, per `model_run`.
        Session creation is one event there (`session_initialization`: graph optimization and constant
        folding, FR's unpack among them, are not broken into operators)."""
        so, _ = session_options(torch.get_num_threads())
        with tempfile.TemporaryDirectory(prefix="frbench-ort-profile-") as tmp:
            so.enable_profiling = True
            so.profile_file_prefix = str(Path(tmp) / "ort")
            t0 = time.perf_counter_ns()
            session = _ort().InferenceSession(str(path), so, providers=PROVIDERS)
            load_ms = (time.perf_counter_ns() - t0) / 1e6
            feed = {session.get_inputs()[0].name: x.contiguous().numpy()}
            for _ in range(1 + runs):
                session.run(None, feed)
            events = json.loads(Path(session.end_profiling()).read_text())
        return {"source": "ONNX Runtime session profiling", **trace_phases(events, load_ms)}


def trace_phases(events: list[dict], load_ms: float) -> dict:
    """The phases of an ONNX Runtime profiling trace: node events ("cat": "Node", "..._kernel_time") by
    `args.op_name`, each in the `model_run` whose time span holds it; the first run, then the others."""
    spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in events
                   if e.get("cat") == "Session" and e.get("name") == "model_run")
    if not spans:
        raise RuntimeError("ONNX Runtime's profile holds no model_run")
    per_run = [defaultdict(lambda: {"ms": 0.0, "calls": 0}) for _ in spans]
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        i = next((k for k, (lo, hi) in enumerate(spans) if lo <= e["ts"] <= hi), None)
        if i is not None:
            op = per_run[i][(e.get("args") or {}).get("op_name") or e["name"]]
            op["ms"] += e["dur"] / 1e3
            op["calls"] += 1
    later = defaultdict(lambda: {"ms": 0.0, "calls": 0})
    for run in per_run[1:]:
        for name, v in run.items():
            later[name]["ms"] += v["ms"]
            later[name]["calls"] += v["calls"]
    return {"load": phase(load_ms, {}, recorded=False),
            "first_inference": phase((spans[0][1] - spans[0][0]) / 1e3, per_run[0]),
            "inference": phase(sum(hi - lo for lo, hi in spans[1:]) / 1e3, later, runs=len(spans) - 1)}
