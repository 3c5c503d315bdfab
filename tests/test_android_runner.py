"""The Android runner without an SDK: a fake adb device that replays `am instrument` outputs
(success, a result too large for the status bundle, the app's own error, a native crash, a
start failure, a timeout, a lost device), quoting of hostile model paths, device discovery,
and the JSON the app's Java code emits, parsed by the Python side.

The transcripts follow the format of AOSP's `am instrument -w -r` (com.android.commands.am.
Instrument) and android_bench/README.md; they are written here, not captured from a device
(this machine has no emulator). `pytest -m device` runs the tiny study on a real one.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from adbutils.errors import AdbError, AdbTimeout

from frbench.bench import Plan, runner_for
from frbench.bench import android as android_mod
from frbench.bench.android import (
    REMOTE_DIR,
    AndroidRunner,
    component_for,
    parse_instrument_output,
    result_from_output,
)
from frbench.bench.android import runner as android_runner_mod
from frbench.bench.devices import resolve_devices
from frbench.bench.job import bench_model
from frbench.bench.result import check_result, with_stats
from frbench.data import load_split
from frbench.errors import BenchError, ConfigError
from frbench.formats import list_formats

from conftest import ROOT

SERIAL = "emulator-5554"
PLAN = Plan(warmup=2, warmup_s=1.5, iters=3, min_iters=2, max_s=20.0, threads=2, timeout_s=30, dice_s=float("inf"))
HOSTILE = "my model; $(touch pwned) `touch pwned2` 'q' \"d\" & |x.ptl"
WEIGHTS = "weights; $(touch pwned3).bin"  # a program's weights file, as hostile

GETPROP = """[ro.build.version.sdk]: [34]
[ro.build.version.release]: [14]
[ro.product.model]: [sdk_gphone64_x86_64]
[ro.product.manufacturer]: [Google]
[ro.product.cpu.abi]: [x86_64]
[ro.product.cpu.abilist]: [x86_64,arm64-v8a]
[ro.kernel.qemu]: [1]
[ro.hardware]: [ranchu]
[sys.boot_completed]: [1]
"""


def app_result(model_path: str, *, error: str | None = None) -> dict:
    """A result as the app writes it (format 1, android_bench/README.md)."""
    values = [11.8, 12.1, 11.9]
    r = {"format": 1, "unit": "ms", "error": error, "runner": "android",
         "model": {"path": model_path, "fmt": "ptl", "bytes": 1234},
         "plan": {"warmup": 2, "warmup_s": 1.5, "iters": 3, "min_iters": 2, "max_s": 20.0, "threads": 2,
                  "dice_s": None},
         "load_ms": 41.2, "first_inference_ms": 30.5, "warmups": [12.5, 12.2], "values": values,
         "stats": None, "memory": {"unit": "kB", "rss_before_load": 60000, "rss_after_load": 75000,
                                   "rss_after_runs": 80000, "peak_rss": 82000, "pss_before_load": 20000,
                                   "pss_after_load": 35000, "pss_after_runs": 40000},
         "accuracy": {"dice": 0.9, "dice_per_image": [0.9, 0.9], "images": 2},
         "runtime": {"name": "pytorch-lite", "version": "2.1.0"},
         "device": {"kind": "android", "model": "sdk_gphone64_x86_64", "manufacturer": "Google", "abi": "x86_64",
                    "sdk": 34, "cores": 4, "emulator": True},
         "metadata": {"date": "2025-01-31T12:00:00Z", "app_version": "0.1.0-ptl"},
         "ran": {"warmups": 2, "warmups_stopped_by": "count", "iters": 3, "iters_stopped_by": "count",
                 "dice_images": 2, "dice_stopped_by": "count"}}
    if error:
        for k in ("load_ms", "first_inference_ms", "warmups", "values", "stats", "memory", "accuracy"):
            r[k] = None
        del r["ran"]  # an error row says nothing of what ran
    return with_stats(r) if not error else r


def success_transcript(result_json: str, *, crlf: bool = True, include_json: bool = True) -> str:
    files = "/data/user/0/org.frbench.bench.ptl/files/result.json"
    lines = [f"INSTRUMENTATION_STATUS: result_file={files}",
             "INSTRUMENTATION_STATUS: result_file_note=cannot write /data/local/tmp/frbench/runs/x/result.json "
             f"(EACCES (Permission denied)); wrote {files} instead"]
    if include_json:
        lines.append(f"INSTRUMENTATION_STATUS: result_json={result_json}")
    else:
        lines.append("INSTRUMENTATION_STATUS: result_file_note=result_json left out: 250000 characters > 200000")
    lines += ["INSTRUMENTATION_STATUS_CODE: 0", f"INSTRUMENTATION_RESULT: result_file={files}"]
    if include_json:
        lines.append(f"INSTRUMENTATION_RESULT: result_json={result_json}")
    lines += ["INSTRUMENTATION_RESULT: stream=frbench: done", "", "INSTRUMENTATION_CODE: -1", ""]
    return ("\r\n" if crlf else "\n").join(lines)


CRASH = "INSTRUMENTATION_RESULT: shortMsg=Process crashed.\r\nINSTRUMENTATION_CODE: 0\r\n"
START_FAILURE = """INSTRUMENTATION_STATUS: id=ActivityManagerService
INSTRUMENTATION_STATUS: Error=Unable to find instrumentation info for: ComponentInfo{org.frbench.bench.ptl/org.frbench.bench.BenchInstrumentation}
INSTRUMENTATION_STATUS_CODE: -1
android.util.AndroidException: INSTRUMENTATION_FAILED: org.frbench.bench.ptl/org.frbench.bench.BenchInstrumentation
\tat com.android.commands.am.Instrument.run(Instrument.java:519)
\tat com.android.commands.am.Am.runInstrument(Am.java:202)
\tat com.android.commands.am.Am.onRun(Am.java:80)
\tat com.android.internal.os.BaseCommand.run(BaseCommand.java:60)
\tat com.android.commands.am.Am.main(Am.java:50)
"""  # noqa: E501 (a transcript replayed as the device printed it)


# --- the fake device -------------------------------------------------------------------------

_OPERATORS = set("();<>|&`")


def assert_no_unquoted_operators(cmd: str) -> None:
    """Every shell word the runner sends is quoted: POSIX tokenizing finds no operator outside quotes."""
    lexer = shlex.shlex(cmd, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    for token in lexer:
        assert not (token and set(token) <= _OPERATORS), f"unquoted shell operator {token!r} in: {cmd}"


class FakeSync:
    def __init__(self, device):
        self.device = device

    def push(self, src, dst, mode=0o755, check=False):
        data = bytes(src) if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes()
        self.device.files[str(dst)] = data
        self.device.pushed.append(str(dst))
        return len(data)

    def read_bytes(self, path):
        return self.device.files[path]


class FakeDevice:
    """An adbutils.AdbDevice look-alike: records every shell command (as the argv the device
    shell would see) and answers `am instrument` from `instrument`, a transcript or a callable."""

    def __init__(self, instrument, *, boot=("1",), installed=False, app_files=None, thermal=None):
        self.instrument = instrument
        self.thermal = list(thermal or [])  # (zones, clocks, status) texts, one per reading; the last repeats
        self.boot = list(boot)
        self.installed = installed
        self.app_files = dict(app_files or {})
        self.files: dict[str, bytes] = {}
        self.pushed: list[str] = []
        self.commands: list[list[str]] = []
        self.timeouts: list[float | None] = []
        self.installs: list[str] = []
        self.sync = FakeSync(self)

    def shell(self, cmd, timeout=None):
        assert isinstance(cmd, str), "the runner sends one quoted command line"
        assert_no_unquoted_operators(cmd)
        argv = shlex.split(cmd)
        self.commands.append(argv)
        self.timeouts.append(timeout)
        if argv == ["getprop"]:
            return GETPROP
        if argv == ["getprop", "sys.boot_completed"]:
            value = self.boot.pop(0) if len(self.boot) > 1 else self.boot[0]
            if isinstance(value, Exception):
                raise value
            return value
        if argv[:2] == ["cat", "/sys/devices/system/cpu/possible"]:
            return "0-3"
        if argv[0] == "cat":
            return self.files[argv[1]].decode() if argv[1] in self.files else f"cat: {argv[1]}: No such file or directory"
        if argv[:2] == ["pm", "path"]:
            return f"package:/data/app/~~x/{argv[2]}-1/base.apk" if self.installed else ""
        if argv[:2] == ["am", "instrument"]:
            out = self.instrument(argv, timeout) if callable(self.instrument) else self.instrument
            return out
        if argv[0] == "run-as" and argv[2] == "cat":
            return self.app_files.get(argv[3], f"cat: {argv[3]}: No such file or directory")
        if argv[0] in ("mkdir", "chmod", "rm", "run-as", "am"):
            return ""
        if argv[0] in ("grep", "dumpsys") and self.thermal:  # the thermal readings (frbench.bench.android.thermal)
            if "thermal_zone*/temp" in cmd:  # each reading of the zones is the next reading; the others follow it
                self.reading = self.thermal.pop(0) if len(self.thermal) > 1 else self.thermal[0]
            zones, clocks, status = getattr(self, "reading", self.thermal[0])
            return status if argv[0] == "dumpsys" else zones if "thermal_zone*/temp" in cmd else clocks
        raise AssertionError(f"unexpected command {argv}")

    def install(self, path, nolaunch=False, silent=False):
        assert nolaunch, "install must not launch the app"
        self.installs.append(path)
        self.installed = True

    def instrument_argv(self) -> list[str]:
        return next(a for a in self.commands if a[:2] == ["am", "instrument"])

    def extras(self) -> dict:
        argv = self.instrument_argv()
        return {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "-e"}


@pytest.fixture
def apk_dir(tmp_path, monkeypatch):
    d = tmp_path / "apks"
    d.mkdir()
    for fmt in list_formats():
        (d / f"app-{fmt}-debug.apk").write_bytes(b"PK fake apk " + fmt.encode())
    monkeypatch.setenv("FRBENCH_APK_DIR", str(d))
    return d


@pytest.fixture
def model_file(tmp_path):
    p = tmp_path / "export" / HOSTILE
    p.parent.mkdir()
    p.write_bytes(b"fake model bytes")
    return p


def run(device, model, tiny_dataset, plan=PLAN, fmt="ptl", weights=None, **kw):
    runner = AndroidRunner(SERIAL, device=device, sleep=lambda s: None, **kw)
    return runner.run(str(model), fmt, str(tiny_dataset), plan, log=open(os.devnull, "w"), weights=weights)


# --- replayed outputs ----------------------------------------------------------------------


def test_success_pushes_quoted_inputs_and_returns_the_apps_result(apk_dir, model_file, tiny_dataset):
    def instrument(argv, timeout):
        extras = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "-e"}
        return success_transcript(json.dumps(app_result(extras["model"])))

    dev = FakeDevice(instrument)
    r = run(dev, model_file, tiny_dataset)
    check_result(r, "fake")
    assert r["error"] is None and r["runner"] == "android"
    extras = dev.extras()
    # the hostile name arrives intact, as one argument, at the path the model was pushed to
    assert extras["model"].endswith("/" + HOSTILE) and extras["model"].startswith(REMOTE_DIR + "/runs/")
    assert dev.files[extras["model"]] == b"fake model bytes"
    component = "org.frbench.bench.ptl/org.frbench.bench.BenchInstrumentation"
    assert dev.instrument_argv()[-1] == component_for("ptl") == component
    assert dev.instrument_argv()[:4] == ["am", "instrument", "-w", "-r"]
    assert extras["threads"] == "2" and extras["warmup"] == "2" and extras["iters"] == "3"
    # the plan's time bounds, as the app parses them (inf: no bound); the Dice image count is what was pushed
    assert (extras["warmup_s"], extras["min_iters"], extras["max_s"], extras["dice_s"]) == ("1.5", "2", "20.0", "inf")
    assert "dice_images" not in extras
    assert extras["images"] == f"{REMOTE_DIR}/test_images.bin" and extras["masks"] == f"{REMOTE_DIR}/test_masks.bin"
    # the timeout of the am instrument call is the plan's plus a margin, above nothing adbutils chooses
    t = dev.timeouts[dev.commands.index(dev.instrument_argv())]
    assert t == PLAN.timeout_s + android_mod.INSTRUMENT_MARGIN_S
    # test data: float32 little-endian NCHW RGB/255 and uint8 masks, shape N,3,H,W
    images, masks = load_split(tiny_dataset, "test")
    assert extras["shape"] == ",".join(map(str, images.shape))
    got = np.frombuffer(dev.files[extras["images"]], dtype="<f4").reshape(tuple(images.shape))
    assert np.array_equal(got, images.numpy())
    assert np.array_equal(np.frombuffer(dev.files[extras["masks"]], dtype=np.uint8).reshape(tuple(masks.shape)),
                          masks.numpy().astype(np.uint8))
    # installed without launching; the app can read what was pushed; the model is removed afterwards
    assert dev.installs == [str(apk_dir / "app-ptl-debug.apk")]
    assert ["chmod", "-R", "a+rX", REMOTE_DIR] in dev.commands
    assert ["rm", "-rf", extras["model"].rsplit("/", 1)[0]] in dev.commands
    # host-side facts: local path, device path, getprop facts beside the app's
    assert r["model"]["path"] == str(model_file) and r["model"]["device_path"] == extras["model"]
    d = r["device"]
    assert d["kind"] == "android" and d["serial"] == SERIAL and d["kernel_qemu"] == "1" and d["emulator"] is True
    assert d["sdk"] == 34 and d["abi"] == "x86_64" and d["cores"] == 4
    assert r["metadata"]["adb"]["component"] == component_for("ptl") and r["metadata"]["app_version"] == "0.1.0-ptl"
    # the phone's own allocator (the host worker records the one it ran on)
    assert list(r["metadata"]) == ["date", "app_version", "allocator", "adb"]
    assert r["metadata"]["allocator"] == {"name": "device"}
    # what the plan's bounds let run, as the app wrote it
    assert r["ran"] == app_result("m")["ran"]
    # a whole model: no weights argument, no weights key
    assert "weights" not in extras and "weights" not in r["model"]


@pytest.fixture
def weights_file(tmp_path):
    p = tmp_path / "export" / WEIGHTS
    p.parent.mkdir(exist_ok=True)
    p.write_bytes(b"fake weights, 24 bytes..")
    return p


def test_program_plus_weights_pushes_the_weights_beside_the_model(apk_dir, model_file, weights_file, tiny_dataset):
    def instrument(argv, timeout):
        extras = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "-e"}
        result = app_result(extras["model"])
        result["model"]["weights"] = {"path": extras["weights"], "bytes": 24}  # as the app writes it
        return success_transcript(json.dumps(result))

    dev = FakeDevice(instrument)
    r = run(dev, model_file, tiny_dataset, weights=str(weights_file))
    check_result(r, "fake")
    assert r["error"] is None
    extras = dev.extras()
    folder = extras["model"].rsplit("/", 1)[0]
    # pushed under its own (hostile) name into the model's run folder, passed as one argument
    assert extras["weights"] == f"{folder}/{WEIGHTS}"
    assert dev.files[extras["weights"]] == weights_file.read_bytes()
    argv = dev.instrument_argv()
    assert argv[argv.index("weights") - 1] == "-e"
    # readable by the app before it runs; removed with the model afterwards
    assert ["rm", "-rf", folder] in dev.commands
    assert dev.commands.index(["chmod", "-R", "a+rX", REMOTE_DIR]) < dev.commands.index(argv)
    # the local path and size, as for the model; the device path beside them
    assert r["model"]["path"] == str(model_file)
    assert r["model"]["weights"] == {"path": str(weights_file), "bytes": 24, "device_path": extras["weights"]}


def test_program_plus_weights_error_row_still_names_the_weights(apk_dir, model_file, weights_file, tiny_dataset):
    dev = FakeDevice(CRASH)
    r = run(dev, model_file, tiny_dataset, weights=str(weights_file))
    check_result(r, "fake")
    assert "process crashed" in r["error"] and r["values"] is None
    assert r["model"]["weights"]["path"] == str(weights_file) and r["model"]["weights"]["bytes"] == 24
    assert ["rm", "-rf", r["model"]["weights"]["device_path"].rsplit("/", 1)[0]] in dev.commands


def test_weights_with_the_models_file_name_is_an_error_row(apk_dir, model_file, tiny_dataset, tmp_path):
    clash = tmp_path / "other" / model_file.name
    clash.parent.mkdir()
    clash.write_bytes(b"w")
    dev = FakeDevice(lambda argv, t: pytest.fail("the app must not run"))
    r = run(dev, model_file, tiny_dataset, weights=str(clash))
    check_result(r, "fake")
    assert "has the model's file name" in r["error"] and r["model"]["weights"]["path"] == str(clash)
    assert "device_path" not in r["model"]["weights"]
    remote_model = next(p for p in dev.pushed if p.endswith("/" + HOSTILE))
    assert ["rm", "-rf", remote_model.rsplit("/", 1)[0]] in dev.commands  # the model is still cleaned up


def test_second_model_reuses_the_installed_apk_and_test_data(apk_dir, model_file, tiny_dataset):
    dev = FakeDevice(lambda argv, t: success_transcript(json.dumps(app_result("m"))))
    run(dev, model_file, tiny_dataset)
    pushed_first = list(dev.pushed)
    dev.pushed.clear()
    run(dev, model_file, tiny_dataset)
    assert len(dev.installs) == 1
    assert not any(p.endswith((".bin", ".sha256")) for p in dev.pushed) and len(dev.pushed) == 1  # the model only
    assert any(p.endswith("test_images.bin") for p in pushed_first)


def test_hostile_command_runs_nothing_in_a_real_posix_shell(tmp_path):
    """The exact command line, run by /bin/sh with a fake `am` that records its arguments."""
    sh = shutil.which("sh")
    if sh is None:
        pytest.skip("no /bin/sh")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "am").write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\0" "$a"; done > "$ARGS_OUT"\n')
    (bindir / "am").chmod(0o755)
    remote = f"{REMOTE_DIR}/runs/abc/{HOSTILE}"
    cmd = AndroidRunner.instrument_command(fmt="pte", model=remote, plan=PLAN, images="/x/i.bin", masks="/x/m.bin",
                                           shape="4,3,32,32", out="/x/o $(id).json")
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "ARGS_OUT": str(tmp_path / "args")}
    subprocess.run([sh, "-c", cmd], cwd=tmp_path, env=env, check=True, timeout=30)
    args = (tmp_path / "args").read_bytes().split(b"\0")[:-1]
    assert [a.decode() for a in args] == ["instrument", "-w", "-r", "-e", "model", remote, "-e", "threads", "2",
                                          "-e", "warmup", "2", "-e", "warmup_s", "1.5", "-e", "iters", "3",
                                          "-e", "min_iters", "2", "-e", "max_s", "20.0", "-e", "dice_s", "inf",
                                          "-e", "images", "/x/i.bin", "-e", "masks", "/x/m.bin",
                                          "-e", "shape", "4,3,32,32", "-e", "out", "/x/o $(id).json",
                                          component_for("pte")]
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()

    weights = f"{REMOTE_DIR}/runs/abc/{WEIGHTS}"
    cmd = AndroidRunner.instrument_command(fmt="ptl", model=remote, plan=PLAN, images="/x/i.bin", masks="/x/m.bin",
                                           shape="4,3,32,32", out="/x/o.json", weights=weights)
    subprocess.run([sh, "-c", cmd], cwd=tmp_path, env=env, check=True, timeout=30)
    args = [a.decode() for a in (tmp_path / "args").read_bytes().split(b"\0")[:-1]]
    assert args[3:7] == ["-e", "model", remote, "-e"] and args[7:9] == ["weights", weights]
    assert not (tmp_path / "pwned3").exists()


def test_result_too_large_for_the_bundle_is_read_from_the_apps_file(apk_dir, model_file, tiny_dataset):
    files = "/data/user/0/org.frbench.bench.ptl/files/result.json"
    dev = FakeDevice(success_transcript("", include_json=False), app_files={files: json.dumps(app_result("m"))})
    r = run(dev, model_file, tiny_dataset)
    assert r["error"] is None and r["values"] == [11.8, 12.1, 11.9]
    assert ["run-as", "org.frbench.bench.ptl", "cat", files] in dev.commands


def test_app_error_passes_through(apk_dir, model_file, tiny_dataset):
    err = 'load: RuntimeException: cannot "open"\n\u00e9'
    dev = FakeDevice(success_transcript(json.dumps(app_result("m", error=err))))
    r = run(dev, model_file, tiny_dataset)
    check_result(r, "fake")
    assert r["error"] == err and r["values"] is None and r["device"]["serial"] == SERIAL
    assert r["metadata"]["allocator"] == {"name": "device"} and "ran" not in r


def test_native_crash_is_an_error_row(apk_dir, model_file, tiny_dataset):
    dev = FakeDevice(CRASH)
    r = run(dev, model_file, tiny_dataset)
    check_result(r, "fake")
    assert "process crashed" in r["error"] and SERIAL in r["error"] and "logcat" in r["error"]
    assert r["values"] is None and r["device"]["model"] == "sdk_gphone64_x86_64"
    assert r["metadata"]["allocator"] == {"name": "device"} and "ran" not in r
    assert any(a[:2] == ["rm", "-rf"] for a in dev.commands)


def test_start_failure_is_an_error_row(apk_dir, model_file, tiny_dataset):
    r = run(FakeDevice(START_FAILURE), model_file, tiny_dataset)
    check_result(r, "fake")
    assert "INSTRUMENTATION_FAILED" in r["error"] and "Unable to find instrumentation info" in r["error"]


def test_timeout_is_an_error_row_and_stops_the_app(apk_dir, model_file, tiny_dataset):
    def hang(argv, timeout):
        raise AdbTimeout("adb read timeout")

    dev = FakeDevice(hang)
    r = run(dev, model_file, tiny_dataset)
    check_result(r, "fake")
    assert "timed out after" in r["error"] and "bench.timeout_s" in r["error"]
    assert ["am", "force-stop", "org.frbench.bench.ptl"] in dev.commands


def test_lost_device_is_an_error_row(apk_dir, model_file, tiny_dataset):
    def gone(argv, timeout):
        raise AdbError(f"device '{SERIAL}' not found")

    r = run(FakeDevice(gone), model_file, tiny_dataset)
    assert "not found" in r["error"] and "adb devices" in r["error"]


def test_waits_for_boot_then_gives_up_naming_the_device(apk_dir, model_file, tiny_dataset):
    dev = FakeDevice(success_transcript(json.dumps(app_result("m"))),
                     boot=[AdbError("device offline"), "", "0", "1"])
    assert run(dev, model_file, tiny_dataset)["error"] is None
    assert sum(a == ["getprop", "sys.boot_completed"] for a in dev.commands) == 4

    clock = iter(range(0, 10_000, 5))
    runner = AndroidRunner(SERIAL, device=FakeDevice("", boot=["0"]), sleep=lambda s: None,
                           clock=lambda: next(clock), boot_timeout_s=20)
    r = runner.run(str(model_file), "ptl", str(tiny_dataset), PLAN, log=open(os.devnull, "w"))
    assert SERIAL in r["error"] and "not booted" in r["error"] and "sys.boot_completed" in r["error"]


def test_an_onnx_program_and_its_external_data_go_to_the_onnx_app_side_by_side(apk_dir, tiny_dataset, tmp_path):
    """ONNX Runtime reads a program's external data from the program's folder under the name the program
    records: the runner pushes both into one run folder under their own names, to the onnx flavor."""
    program, weights = tmp_path / "update" / "program.onnx", tmp_path / "update" / "weights_onnx.bin"
    program.parent.mkdir()
    program.write_bytes(b"fake onnx program")
    weights.write_bytes(b"fake external data")

    def instrument(argv, timeout):
        extras = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "-e"}
        result = app_result(extras["model"])
        result["model"]["fmt"] = "onnx"
        result["runtime"] = {"name": "onnxruntime", "version": "1.32.0"}
        result["model"]["weights"] = {"path": extras["weights"], "bytes": 18}
        return success_transcript(json.dumps(result))

    dev = FakeDevice(instrument)
    r = run(dev, program, tiny_dataset, fmt="onnx", weights=str(weights))
    check_result(r, "fake")
    assert r["error"] is None and r["runtime"]["name"] == "onnxruntime"
    extras = dev.extras()
    assert dev.instrument_argv()[-1] == "org.frbench.bench.onnx/org.frbench.bench.BenchInstrumentation"
    assert extras["model"].endswith("/program.onnx") and extras["weights"].endswith("/weights_onnx.bin")
    assert extras["model"].rsplit("/", 1)[0] == extras["weights"].rsplit("/", 1)[0]
    assert dev.installs == [str(apk_dir / "app-onnx-debug.apk")]
    assert r["metadata"]["adb"]["app_runner"] == "OnnxRuntimeRunner"
    assert r["model"]["weights"] == {"path": str(weights), "bytes": 18, "device_path": extras["weights"]}


def test_missing_apk_is_an_error_row_saying_how_to_build_it(tmp_path, model_file, tiny_dataset, monkeypatch):
    monkeypatch.setenv("FRBENCH_APK_DIR", str(tmp_path / "none"))
    monkeypatch.setattr(android_runner_mod, "find_apk", lambda fmt: None)
    r = run(FakeDevice(START_FAILURE), model_file, tiny_dataset, fmt="pte")
    assert "assemblePteDebug" in r["error"] and "org.frbench.bench.pte" in r["error"]


def test_parser_handles_multiline_values_and_codes():
    out = parse_instrument_output("INSTRUMENTATION_RESULT: shortMsg=java.lang.RuntimeException\n"
                                  "INSTRUMENTATION_RESULT: longMsg=java.lang.RuntimeException: boom\n"
                                  "\tat org.frbench.bench.X.run(X.java:1)\n"
                                  "INSTRUMENTATION_CODE: 0\n")
    assert out.code == 0 and out.result["longMsg"].endswith("(X.java:1)")
    with pytest.raises(BenchError, match="without a result"):
        result_from_output(out, SERIAL, "ptl")
    with pytest.raises(BenchError, match="without INSTRUMENTATION_CODE"):
        result_from_output(parse_instrument_output("INSTRUMENTATION_STATUS: x=1\n"), SERIAL, "ptl")
    with pytest.raises(BenchError, match="not valid JSON"):
        result_from_output(parse_instrument_output("INSTRUMENTATION_STATUS: result_json={oops\n"), SERIAL, "ptl")


def test_bench_job_uses_the_android_runner_for_a_serial(apk_dir, model_file, tiny_dataset, tmp_path, monkeypatch):
    """`frbench bench --device SERIAL` end to end, with adb replaced by the fake device."""
    dev = FakeDevice(success_transcript(json.dumps(app_result("m"))))
    monkeypatch.setattr(android_runner_mod, "_adb_connect", lambda serial: dev)
    record = tmp_path / "export_ptl.json"
    record.write_text(json.dumps({"error": None}))
    key = {"method": "baseline", "level": "dense", "seed": 0, "fmt": "ptl"}
    out = tmp_path / "bench.json"
    result = bench_model(key=key, device=SERIAL, model=str(model_file), export_record=str(record),
                         data=str(tiny_dataset), plan={"warmup": 2, "iters": 3, "threads": 2, "timeout_s": 30},
                         out=str(out))
    assert result["error"] is None and result["key"]["device"] == SERIAL
    assert type(runner_for(SERIAL)).__name__ == "AndroidRunner"
    check_result(json.loads(out.read_text()), str(out))


# --- the JSON the app's Java code writes -------------------------------------------------


@pytest.fixture(scope="module")
def java_results(tmp_path_factory):
    """The three result lines of android_bench's FakeRunMain (the app's protocol, run with a
    fake runtime: a success, a failed load, a program plus weights file), compiled here with
    javac; skipped without a JDK."""
    javac, java = shutil.which("javac"), shutil.which("java")
    if not (javac and java):
        pytest.skip("no JDK (javac/java): apt-get install -y openjdk-17-jdk-headless")
    app = ROOT / "android_bench" / "app" / "src"
    tests = app / "test" / "java" / "org" / "frbench" / "bench" / "core"
    sources = sorted((app / "main" / "java" / "org" / "frbench" / "bench" / "core").glob("*.java"))
    sources += [tests / "Fakes.java", tests / "FakeRunMain.java"]
    if not all(p.is_file() for p in sources):
        pytest.skip("android_bench's FakeRunMain is not there")
    out = tmp_path_factory.mktemp("java") / "classes"
    proc = subprocess.run([javac, "--release", "8", "-nowarn", "-encoding", "UTF-8", "-d", str(out), *map(str, sources)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([java, "-cp", str(out), "org.frbench.bench.core.FakeRunMain"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3
    return lines


def test_java_results_through_the_runner(java_results, apk_dir, model_file, weights_file, tiny_dataset):
    ok_line, failed_line, program_line = java_results
    ok = run(FakeDevice(success_transcript(ok_line)), model_file, tiny_dataset)
    check_result(ok, "FakeRunMain (success)")
    assert ok["error"] is None and ok["stats"] == json.loads(ok_line)["stats"]
    assert ok["ran"] == json.loads(ok_line)["ran"] and ok["ran"]["iters"] == len(ok["values"])
    assert ok["metadata"]["allocator"] == {"name": "device"}
    assert with_stats(copy.deepcopy(ok))["stats"] == ok["stats"]  # Java's statistics equal Python's
    failed = run(FakeDevice(success_transcript(failed_line, crlf=False)), model_file, tiny_dataset)
    check_result(failed, "FakeRunMain (error)")
    assert failed["error"] == 'load: RuntimeException: cannot "open"\n\u00e9'
    assert "ran" not in failed and failed["metadata"]["allocator"] == {"name": "device"}
    program = run(FakeDevice(success_transcript(program_line)), model_file, tiny_dataset, weights=str(weights_file))
    check_result(program, "FakeRunMain (program plus weights)")
    assert program["error"] is None and json.loads(program_line)["model"]["weights"]["bytes"] == 7
    assert program["model"]["weights"]["path"] == str(weights_file) and program["model"]["weights"]["bytes"] == 24


# --- device discovery ----------------------------------------------------------------------


class Info:
    def __init__(self, serial, state):
        self.serial, self.state = serial, state


class FakeAdb:
    def __init__(self, infos=(), error=None):
        self.infos, self.error, self.calls = list(infos), error, 0

    def list(self):
        self.calls += 1
        if self.error:
            raise self.error
        return self.infos


def test_resolve_devices():
    quiet = open(os.devnull, "w")
    adb = FakeAdb([Info("emulator-5556", "device"), Info("emulator-5554", "device"), Info("R58M", "unauthorized")])
    assert resolve_devices(["auto"], adb, log=quiet) == ["emulator-5554", "emulator-5556"]
    assert resolve_devices(["host", "emulator-5556", "auto"], adb, log=quiet) == ["host", "emulator-5556", "emulator-5554"]
    assert resolve_devices(["auto"], FakeAdb([Info("R58M", "unauthorized")]), log=quiet) == ["host"]
    assert resolve_devices(["auto"], FakeAdb(error=AdbError("No adb exe could be found")), log=quiet) == ["host"]
    untouched = FakeAdb(error=AssertionError("adb must not be asked"))
    assert resolve_devices(["host"], untouched, log=quiet) == ["host"] and untouched.calls == 0
    with pytest.raises(ConfigError, match="'emulator-5560' is not attached.*emulator-5554 \\(device\\)"):
        resolve_devices(["emulator-5560"], adb, log=quiet)
    with pytest.raises(ConfigError, match="'R58M' is attached but 'unauthorized'.*USB debugging"):
        resolve_devices(["R58M"], adb, log=quiet)


def test_resolve_auto_against_a_real_adb_server_without_devices(monkeypatch):
    """adbutils' adb (its bundled binary, or `adb` on PATH) on a port of its own, so that no
    other adb server is touched; with nothing attached, `auto` is the host."""
    import adbutils

    try:
        adb = adbutils.adb_path()
    except AdbError as e:
        pytest.skip(f"no adb binary: {e}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(port))
    try:
        assert resolve_devices(["auto"], log=open(os.devnull, "w")) == ["host"]
        with pytest.raises(ConfigError, match="'emulator-5554' is not attached"):
            resolve_devices(["emulator-5554"], log=open(os.devnull, "w"))
    finally:
        subprocess.run([adb, "-P", str(port), "kill-server"], capture_output=True, timeout=30)


# --- with a device -------------------------------------------------------------------------


@pytest.mark.device
def test_tiny_study_on_the_attached_device(tmp_path):
    """`pytest -m device`: the tiny study, both formats, on the attached emulator or phone
    (the APKs built as android_bench/README.md says, or FRBENCH_APK_DIR)."""
    port = int(os.environ.get("ANDROID_ADB_SERVER_PORT", 5037))
    with socket.socket() as s:
        s.settimeout(0.5)
        if s.connect_ex(("127.0.0.1", port)) != 0:  # do not start an adb server just to find nothing
            pytest.skip(f"no adb server on port {port} (`adb devices` starts one)")
    devices = resolve_devices(["auto"], log=open(os.devnull, "w"))
    if devices == ["host"]:
        pytest.skip("no emulator or phone attached (`adb devices`)")
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "workflow" / "Snakefile"),
           "--directory", str(tmp_path), "--configfile", str(ROOT / "config" / "tiny.yaml"), "--cores", "2",
           "--config", "devices=[auto]", "formats=[ptl,pte]", "--", "all"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-5000:]
    for fmt in ("ptl", "pte"):
        out = tmp_path / "results" / "bench" / devices[0] / "baseline" / "dense" / "seed0" / f"{fmt}.json"
        r = check_result(json.loads(out.read_text()), str(out))
        assert r["error"] is None, r["error"]
        assert r["runner"] == "android" and r["device"]["serial"] == devices[0]


# --- the device protocol at parity with the runtimes' own apps: thermal state, cool-down, PSS -------

ZONES_HOT = """/sys/class/thermal/thermal_zone0/type:cpu-0-0-usr
/sys/class/thermal/thermal_zone1/type:battery
/sys/class/thermal/thermal_zone0/temp:52000
/sys/class/thermal/thermal_zone1/temp:31000
"""
ZONES_COOL = ZONES_HOT.replace("52000", "38500")
CLOCKS = """/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq:1804800
/sys/devices/system/cpu/cpu4/cpufreq/scaling_cur_freq:2419200
"""
CLOCKS_THROTTLED = CLOCKS.replace("2419200", "1209600")
STATUS = "IsStatusOverride: false\nThermal Status: 0\nCached temperatures:\n"


def test_a_device_run_records_thermal_state_and_cools_down_first(apk_dir, model_file, tiny_dataset):
    def instrument(argv, timeout):
        extras = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "-e"}
        return success_transcript(json.dumps(app_result(extras["model"])))

    # hot at first, cool at the third reading; throttled (a core's clock halved, status 2) after the model
    readings = [(ZONES_HOT, CLOCKS, STATUS)] * 2 + [(ZONES_COOL, CLOCKS, STATUS)] * 2 + [
        (ZONES_COOL, CLOCKS_THROTTLED, STATUS.replace("Status: 0", "Status: 2"))]
    dev = FakeDevice(instrument, thermal=readings)
    slept, now = [], [0.0]

    def sleep(s):
        slept.append(s)
        now[0] += s

    runner = AndroidRunner(SERIAL, device=dev, sleep=sleep, clock=lambda: now[0])
    plan = Plan(**{**PLAN.to_dict(), "cooldown_s": 60.0, "cooldown_temp_c": 40.0})
    r = runner.run(str(model_file), "ptl", str(tiny_dataset), plan, log=open(os.devnull, "w"))
    check_result(r, "fake")
    state = r["device_state"]
    assert state["cooldown"]["stopped_by"] == "cool" and state["cooldown"]["start_c"] == 52.0
    assert state["cooldown"]["end_c"] == 38.5 and 0 < state["cooldown"]["waited_s"] <= 60
    assert state["before"]["temperatures_c"] == {"thermal_zone0 (cpu-0-0-usr)": 38.5, "thermal_zone1 (battery)": 31.0}
    assert state["before"]["cpu_freq_khz"] == {"cpu0": 1804800, "cpu4": 2419200} and state["before"]["thermal_status"] == 0
    assert state["moved"] == ["cpu4 2419 -> 1210 MHz", "thermal status 0 -> 2"]
    # the cool-down is bounded: a device that stays hot is waited for cooldown_s, no longer
    stuck, now[0] = FakeDevice(instrument, thermal=[(ZONES_HOT, CLOCKS, STATUS)]), 0.0
    runner = AndroidRunner(SERIAL, device=stuck, sleep=sleep, clock=lambda: now[0])
    r = runner.run(str(model_file), "ptl", str(tiny_dataset), Plan(**{**plan.to_dict(), "cooldown_s": 12.0}),
                   log=open(os.devnull, "w"))
    assert r["device_state"]["cooldown"]["stopped_by"] == "time" and r["device_state"]["cooldown"]["waited_s"] == 12.0
    assert r["device_state"]["moved"] == []
    # a device that reports no temperature is not waited for, and the record says so
    r = run(FakeDevice(instrument), model_file, tiny_dataset)
    assert r["device_state"]["cooldown"]["stopped_by"] == "no temperature"
    assert r["device_state"]["before"]["errors"]  # the readings it refused, recorded, never a failed row
    assert r["error"] is None


def test_pss_and_the_device_state_reach_the_summary(apk_dir, model_file, tiny_dataset):
    from frbench.report.protocol import protocol_columns

    def instrument(argv, timeout):
        extras = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "-e"}
        return success_transcript(json.dumps(app_result(extras["model"])))

    dev = FakeDevice(instrument, thermal=[(ZONES_COOL, CLOCKS, STATUS), (ZONES_COOL, CLOCKS, STATUS),
                                          (ZONES_COOL, CLOCKS_THROTTLED, STATUS)])
    row = protocol_columns(run(dev, model_file, tiny_dataset))  # summary.csv's columns from a result
    assert (row["pss_before_load_kb"], row["pss_after_load_kb"], row["pss_after_runs_kb"]) == (20000, 35000, 40000)
    assert row["device_state_moved"] == "cpu4 2419 -> 1210 MHz" and row["cpu_temp_before_c"] == 38.5


def test_an_etdump_the_app_wrote_is_pulled_and_an_unreadable_one_says_why(apk_dir, model_file, tiny_dataset):
    etdump = "/data/local/tmp/result.etdump"

    def instrument(argv, timeout):
        extras = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "-e"}
        result = app_result(extras["model"])
        result["profile"] = {"available": True, "source": "ExecuTorch ETDump (Module.etdump())",
                             "etdump_device_path": etdump}
        return success_transcript(json.dumps(result))

    dev = FakeDevice(instrument)
    dev.files[etdump] = b"not an ETDump"
    r = run(dev, model_file, tiny_dataset, fmt="pte")
    assert r["error"] is None and r["profile"]["available"] is False
    assert r["profile"]["reason"].startswith(f"the app wrote {etdump}, but it could not be read")
    assert ["rm", "-f", etdump] in dev.commands  # removed from the device, read or not


def test_a_thread_sweep_gives_one_row_per_count_on_a_device(apk_dir, model_file, tiny_dataset, tmp_path,
                                                            monkeypatch):
    """`bench.threads: [2, 4]`: the device at 2 threads keeps its name, at 4 it is `SERIAL@t4`; each job
    runs the app with its own count and keys its row by that name (frbench.bench.sweep)."""
    from frbench.bench.sweep import device_labels, plan_for_device

    bench = {"warmup": 2, "iters": 3, "threads": [2, 4], "timeout_s": 30, "cooldown_s": 0}
    labels = device_labels([SERIAL], bench)
    assert labels == [SERIAL, f"{SERIAL}@t4"]
    record = tmp_path / "export_ptl.json"
    record.write_text(json.dumps({"error": None}))
    rows = []
    for label in labels:
        dev = FakeDevice(success_transcript(json.dumps(app_result("m"))))
        monkeypatch.setattr(android_runner_mod, "_adb_connect", lambda serial: dev)
        out = tmp_path / f"{label}.json"
        r = bench_model(key={"method": "baseline", "level": "dense", "seed": 0, "fmt": "ptl"}, device=label,
                        model=str(model_file), export_record=str(record), data=str(tiny_dataset),
                        plan=plan_for_device(bench, label), out=str(out))
        rows.append((r["key"]["device"], dev.extras()["threads"], r["plan"]["threads"], r["metadata"]["adb"]["serial"]))
    assert rows == [(SERIAL, "2", 2, SERIAL), (f"{SERIAL}@t4", "4", 4, SERIAL)]
