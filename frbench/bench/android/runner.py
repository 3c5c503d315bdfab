"""The Android runner: one `am instrument` of the benchmark app per model, over adb (adbutils).

It follows the same plan as the host runner and returns the same result (format 1; the app
writes it, see android_bench/README.md, "The contract the Python adb runner relies on"):

1. connect to the device through the adb server (`adbutils.AdbClient().device(serial)`) and
   wait until Android has booted (`getprop sys.boot_completed` = 1);
2. record the device's facts from `getprop` (model, manufacturer, ABI, SDK, `ro.kernel.qemu`
   for emulators) and its core count;
3. install the flavor's APK (`nolaunch`), unless the same APK (by SHA-256) is installed already;
4. push the model (with `weights=`, also its weights file, beside it) and the test split
   (`test_images.bin`: float32 little-endian NCHW, RGB/255; `test_masks.bin`: uint8 (N, H, W))
   under /data/local/tmp/frbench and make them readable by the app; the test split is pushed
   only when it changed;
5. run `am instrument -w -r -e model ... COMPONENT` with the plan's counts and time bounds
   (`warmup`, `warmup_s`, `iters`, `min_iters`, `max_s`, `dice_s`: the app bounds each phase as
   the host worker does) and a timeout of the plan's `timeout_s` plus a margin (adbutils' own
   default, 600 s, would cut long models short);
6. read `INSTRUMENTATION_STATUS: result_json=...`; when the app left it out (a result too large
   for a Binder bundle) read the file it names (`result_file`); turn a crash
   (`shortMsg=Process crashed.`), a start failure (`INSTRUMENTATION_FAILED`), a timeout or a
   lost device into an error row;
7. remove the model (and its weights file) and the result file from the device (the APK and
   the test split stay, so that the next model does not push them again). Before `am instrument`
   it cools the device down and snapshots its thermal state, and again after (`device_state`,
   frbench.bench.android.thermal); it pulls the `.pte` app's ETDump (`etdump`).

Every value that reaches the device shell is quoted with `shlex.quote` (Android's shell is POSIX),
so a model path holding `;` or `$(...)` arrives intact and runs nothing; files travel over adb's sync.

The device handle comes through a seam (`device=` or `connect=`), so tests drive the runner with
a fake device that replays recorded `am instrument` outputs.

Package, instrumentation and APK names follow android_bench/README.md (frbench.bench.android.app).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np

from ...errors import BenchError
from ..plan import Plan
from ..result import empty_result
from ..runner import Runner, register_runner
from .app import REMOTE_DIR, component_for, find_apk, package_for, sh
from .etdump import pull_profile
from .facts import facts_from, parse_cpu_list, parse_getprop
from .instrument import parse_instrument_output, result_from_output
from .thermal import cool_down, moved, snapshot

INSTRUMENT_MARGIN_S = 120.0  # process start, model push already done; on top of plan.timeout_s
BOOT_TIMEOUT_S = 300.0


def _adb_connect(serial: str):
    import adbutils

    return adbutils.AdbClient().device(serial=serial)


def _is_timeout(e: BaseException) -> bool:
    try:
        from adbutils.errors import AdbTimeout
    except ImportError:  # pragma: no cover - adbutils is a dependency
        AdbTimeout = TimeoutError  # noqa: N806
    return isinstance(e, (AdbTimeout, TimeoutError))


@register_runner
class AndroidRunner(Runner):
    """The plan run by the benchmark app, one `am instrument` per model (this module's docstring).
    `AndroidRunner(serial)` talks to that device through the adb server. Tests pass
    `device=` (an adbutils.AdbDevice look-alike: `shell(cmd, timeout=)`, `sync.push(src, dst,
    mode=)`, `sync.read_bytes(path)`, `install(path, nolaunch=, silent=)`) or `connect=`."""

    name = "android"

    def __init__(self, serial: str, *, device=None, connect=None, boot_timeout_s: float = BOOT_TIMEOUT_S,
                 poll_s: float = 2.0, sleep=time.sleep, clock=time.monotonic):
        super().__init__(serial)
        self.serial = serial
        self._device = device
        self._connect = connect or _adb_connect
        self.boot_timeout_s, self.poll_s, self._sleep, self._clock = boot_timeout_s, poll_s, sleep, clock

    # the device handle, opened once per runner
    @property
    def device(self):
        if self._device is None:
            self._device = self._connect(self.serial)
        return self._device

    def shell(self, cmd: str, timeout: float | None = 60.0) -> str:
        return self.device.shell(cmd, timeout=timeout)

    # 1. boot
    def wait_for_boot(self) -> None:
        deadline = self._clock() + self.boot_timeout_s
        last = ""
        while True:
            try:
                last = self.shell(sh("getprop", "sys.boot_completed"), timeout=30).strip()
                if last == "1":
                    return
            except Exception as e:  # noqa: BLE001 - offline while booting: keep waiting
                last = f"{type(e).__name__}: {e}"
            if self._clock() >= deadline:
                raise BenchError(f"android {self.serial}: not booted after {self.boot_timeout_s:g} s "
                                 f"(sys.boot_completed = {last!r}); check the emulator's window or `adb -s {self.serial} "
                                 "logcat`, then rerun")
            self._sleep(self.poll_s)

    # 2. facts
    def device_facts(self) -> dict:
        props = parse_getprop(self.shell("getprop"))
        cpus = parse_cpu_list(self.shell(sh("cat", "/sys/devices/system/cpu/possible")))
        return facts_from(props, cpus, self.serial)

    # 3. APK
    def ensure_installed(self, fmt: str, log) -> dict:
        pkg = package_for(fmt)
        apk = find_apk(fmt)
        installed = "package:" in self.shell(sh("pm", "path", pkg))
        if apk is None:
            if installed:
                print(f"android {self.serial}: no local {fmt} APK; using the {pkg} already installed", file=log)
                return {"package": pkg, "apk": None, "installed": "already (no local APK)"}
            raise BenchError(f"android {self.serial}: no {fmt} APK to install and {pkg} is not installed: build it "
                             f"(cd android_bench && ./gradlew assemble{fmt.capitalize()}Debug, see android_bench/README.md) "
                             f"or set FRBENCH_APK_DIR to the folder holding app-{fmt}-debug.apk")
        digest = hashlib.sha256(apk.read_bytes()).hexdigest()
        marker = f"{REMOTE_DIR}/{pkg}.apk.sha256"
        if installed and self._marker_says(marker, digest):
            return {"package": pkg, "apk": str(apk), "apk_sha256": digest, "installed": "already"}
        print(f"android {self.serial}: installing {apk}", file=log, flush=True)
        self.device.install(str(apk), nolaunch=True, silent=True)
        self._write_marker(marker, digest)
        return {"package": pkg, "apk": str(apk), "apk_sha256": digest, "installed": "now"}

    # 4. files
    def push_test_data(self, data: str, plan: Plan) -> tuple[str, str, str]:
        images, masks = plan.dice_split(data)
        image_bytes = images.contiguous().numpy().astype("<f4", copy=False).tobytes()
        mask_bytes = masks.numpy().astype(np.uint8).tobytes()
        remote_images, remote_masks = f"{REMOTE_DIR}/test_images.bin", f"{REMOTE_DIR}/test_masks.bin"
        digest = hashlib.sha256(image_bytes + b"\0" + mask_bytes).hexdigest()
        marker = f"{REMOTE_DIR}/test_data.sha256"
        if not self._marker_says(marker, digest):
            self.shell(sh("mkdir", "-p", REMOTE_DIR))
            self.device.sync.push(image_bytes, remote_images, mode=0o644)
            self.device.sync.push(mask_bytes, remote_masks, mode=0o644)
            self._write_marker(marker, digest)
        shape = ",".join(str(d) for d in images.shape)
        return remote_images, remote_masks, shape

    def _marker_says(self, marker: str, digest: str) -> bool:
        """Whether the device's marker file names this SHA-256: what it holds is already there."""
        return self.shell(sh("cat", marker)).strip() == digest

    def _write_marker(self, marker: str, digest: str) -> None:
        self.shell(sh("mkdir", "-p", REMOTE_DIR))
        self.device.sync.push(digest.encode(), marker, mode=0o644)

    def push_model(self, model: str) -> str:
        local = Path(model)
        run_id = hashlib.sha256(f"{local.resolve()}:{time.time_ns()}:{os.getpid()}".encode()).hexdigest()[:16]
        folder = f"{REMOTE_DIR}/runs/{run_id}"
        remote = f"{folder}/{local.name}"
        self.shell(sh("mkdir", "-p", folder))
        self.device.sync.push(str(local), remote, mode=0o644)
        return remote

    def push_beside(self, path: str, remote_model: str) -> str:
        """Pushes a file that goes with the model (a program's weights file) into the model's run
        folder under its own name, so that removing the model's folder removes it too."""
        local = Path(path)
        folder, model_name = remote_model.rsplit("/", 1)
        if local.name == model_name:
            raise BenchError(f"android {self.serial}: the weights file {local} has the model's file name "
                             f"{model_name!r}; beside the model on the device one would overwrite the other: "
                             "rename one of them")
        remote = f"{folder}/{local.name}"
        self.device.sync.push(str(local), remote, mode=0o644)
        return remote

    # 5. instrument
    @staticmethod
    def instrument_command(*, fmt: str, model: str, plan: Plan, images: str, masks: str, shape: str, out: str,
                           weights: str | None = None) -> str:
        # the Dice pass's image count is what was pushed (`push_test_data`); its time bound travels here.
        # str() of a number is what the app parses (`10`, `2.5`, `1e-05`, `inf`).
        args = {"model": model, **({"weights": weights} if weights else {}), "threads": plan.threads,
                "warmup": plan.warmup, "warmup_s": plan.warmup_s, "iters": plan.iters, "min_iters": plan.min_iters,
                "max_s": plan.max_s, "dice_s": plan.dice_s, "images": images, "masks": masks, "shape": shape,
                "out": out}
        argv = ["am", "instrument", "-w", "-r"]
        for key, value in args.items():
            argv += ["-e", key, str(value)]
        return sh(*argv, component_for(fmt))

    def read_remote(self, fmt: str, path: str) -> str:
        if path.startswith(REMOTE_DIR + "/"):
            return self.device.sync.read_bytes(path).decode("utf-8", errors="replace")
        return self.shell(sh("run-as", package_for(fmt), "cat", path), timeout=120)  # the app's own files

    def run(self, model: str, fmt: str, data: str, plan: Plan, log=sys.stderr, weights: str | None = None,
            checkpoint: str | None = None) -> dict:
        """Benchmarks `model`; with `weights` (a local file), `model` is a program and the app loads
        that weights file into it (android_bench/README.md, the `weights` argument)."""
        facts, remote_model, remote_weights, remote_out, timed_out = None, None, None, None, False
        meta: dict = {"serial": self.serial, "component": component_for(fmt)}
        state: dict = {}  # the device's thermal state around the model (frbench.bench.android.thermal)
        try:
            from ...formats import get_format  # here: the formats import torch, which the job's process need not

            meta["app_runner"] = get_format(fmt).android_runner  # the flavor's Java runner (android_bench/)
            self.wait_for_boot()
            facts = self.device_facts()
            meta.update(self.ensure_installed(fmt, log))
            images, masks, shape = self.push_test_data(data, plan)
            remote_model = self.push_model(model)
            if weights:
                remote_weights = self.push_beside(weights, remote_model)
            remote_out = remote_model.rsplit("/", 1)[0] + "/result.json"
            self.shell(sh("chmod", "-R", "a+rX", REMOTE_DIR))  # the app runs as its own user
            cmd = self.instrument_command(fmt=fmt, model=remote_model, plan=plan, images=images, masks=masks,
                                          shape=shape, out=remote_out, weights=remote_weights)
            timeout = plan.timeout_s + INSTRUMENT_MARGIN_S
            state["cooldown"] = cool_down(self.shell, plan.cooldown_s, plan.cooldown_temp_c, self._sleep, self._clock)
            state["before"] = snapshot(self.shell)
            print(f"android {self.serial}: adb shell {cmd}  (timeout {timeout:g} s)", file=log, flush=True)
            t0 = self._clock()
            try:
                text = self.shell(cmd, timeout=timeout)
            except Exception as e:  # noqa: BLE001
                if _is_timeout(e):
                    timed_out = True
                    raise BenchError(f"android {self.serial}: timed out after {timeout:g} s (bench.timeout_s "
                                     f"{plan.timeout_s:g} s + {INSTRUMENT_MARGIN_S:g} s); the app was stopped") from None
                raise
            meta["instrument_seconds"] = round(self._clock() - t0, 3)
            state["after"] = snapshot(self.shell)
            state["moved"] = moved(state["before"], state["after"])
            print(text, file=log, flush=True)
            out = parse_instrument_output(text)
            result = result_from_output(out, self.serial, fmt, read_file=lambda p: self.read_remote(fmt, p))
            pull_profile(result, self.device.sync.read_bytes, self.shell)
        except Exception as e:  # noqa: BLE001 - a lost device, a crash, a timeout: an error row
            error = str(e) if isinstance(e, BenchError) else (
                f"android {self.serial}: {type(e).__name__}: {e} (is the device still attached? `adb devices`)")
            print(error, file=log, flush=True)
            result = empty_result(runner=self.name, model=model, fmt=fmt, plan=plan.to_dict(), error=error)
        finally:
            self._cleanup(fmt, remote_model, timed_out, log)
        if state:
            result["device_state"] = state
        return self._complete(result, model, remote_model, facts, meta, weights, remote_weights)

    # 7. cleanup
    def _cleanup(self, fmt: str, remote_model: str | None, timed_out: bool, log) -> None:
        cmds = []
        if timed_out:
            cmds.append(sh("am", "force-stop", package_for(fmt)))
        if remote_model:
            cmds.append(sh("rm", "-rf", remote_model.rsplit("/", 1)[0]))
            cmds.append(sh("run-as", package_for(fmt), "rm", "-f", "files/result.json"))
        for cmd in cmds:
            try:
                self.shell(cmd, timeout=60)
            except Exception as e:  # noqa: BLE001 - the device may be gone; the result says so already
                print(f"android {self.serial}: cleanup `{cmd}` failed: {type(e).__name__}: {e}", file=log)

    @staticmethod
    def _complete(result: dict, model: str, remote_model: str | None, facts: dict | None, meta: dict,
                  weights: str | None = None, remote_weights: str | None = None) -> dict:
        """The app's result with what only the host knows: the local model (and weights) path, the
        adb facts, and the allocator: the phone's own (`{"name": "device"}`; the host worker records
        the one it ran on, frbench.bench.allocator), unless the app named one."""
        result["runner"] = "android"
        result["model"] = dict(result.get("model") or {})
        if remote_model:
            result["model"]["device_path"] = remote_model
        result["model"]["path"] = str(model)
        if weights:
            local = Path(weights)
            result["model"]["weights"] = {"path": str(weights), "bytes": local.stat().st_size if local.is_file() else None}
            if remote_weights:
                result["model"]["weights"]["device_path"] = remote_weights
        if facts is not None:
            result["device"] = {**facts, **{k: v for k, v in (result.get("device") or {}).items() if v is not None}}
            result["device"]["kind"] = "android"
        metadata = dict(result.get("metadata") or {})
        metadata.setdefault("allocator", {"name": "device"})
        result["metadata"] = {**metadata, "adb": meta}
        return result
