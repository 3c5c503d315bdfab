"""The Android benchmark app's plain-Java parts, compiled and tested without the Android SDK.

`android_bench/` is a Gradle project that needs the Android SDK to build; its protocol, statistics,
Dice, JSON writer, argument checks and file reading are plain Java (`org.frbench.bench.core`), so
here they are compiled with `javac` and their JUnit 4 tests run with `JUnitCore`, the same tests
that `./gradlew testPtlDebugUnitTest` runs. The Android glue and every runtime flavor (one per format) are
compiled against the compile-only stubs in `android_bench/compile-stubs/`.

Needs a JDK (`javac`, `java`) and JUnit 4 with Hamcrest (Debian: `apt-get install -y
openjdk-17-jdk-headless junit4`; junit4 pulls in libhamcrest-java; jars in /usr/share/java). Without them these tests
skip, except when the environment variable CI is set: then they fail, since CI installs them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from frbench.formats import get_format, list_formats

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "android_bench" / "app"
MAIN = APP / "src" / "main" / "java" / "org" / "frbench" / "bench"
CORE = MAIN / "core"
TESTS = APP / "src" / "test" / "java" / "org" / "frbench" / "bench" / "core"
STUBS = ROOT / "android_bench" / "compile-stubs"
FLAVORS = tuple(list_formats())  # one flavor per registered format: ptl, pte, onnx
JAVA_DIRS = [Path("/usr/share/java"), Path("/usr/local/share/java")]
TIMEOUT_S = 300

# The result format (format 1): the keys the Python host runner writes too.
RESULT_KEYS = [
    "format", "unit", "error", "runner", "model", "plan", "load_ms", "first_inference_ms",
    "warmups", "values", "stats", "memory", "accuracy", "runtime", "device", "metadata",
]
NESTED_KEYS = {
    "model": ["path", "fmt", "bytes"],
    "plan": ["warmup", "warmup_s", "iters", "min_iters", "max_s", "threads", "dice_s"],
    "stats": ["mean", "std", "min", "p50", "p90", "p99", "max", "trimmed_mean"],
    "memory": ["unit", "rss_before_load", "rss_after_load", "rss_after_runs", "peak_rss",
               "pss_before_load", "pss_after_load", "pss_after_runs"],
    "accuracy": ["dice", "dice_per_image", "images"],
    "runtime": ["name", "version"],
    "device": ["kind", "model", "manufacturer", "abi", "sdk", "cores", "emulator"],
    "metadata": ["date", "app_version"],
}
# A successful result adds what the plan's bounds let run, after every result's keys (as the host
# worker does); an error result has no `ran`.
RAN_KEYS = ["warmups", "warmups_stopped_by", "iters", "iters_stopped_by", "dice_images", "dice_stopped_by"]
MEASUREMENTS = ["load_ms", "first_inference_ms", "warmups", "values", "stats", "memory", "accuracy"]


def _find_jar(*names: str) -> Path | None:
    for d in JAVA_DIRS:
        for n in names:
            if (d / n).is_file():
                return d / n
    return None


def _toolchain() -> dict[str, str]:
    """javac, java and the JUnit/Hamcrest classpath; skip (or fail under CI) when missing."""
    javac, java = shutil.which("javac"), shutil.which("java")
    junit = _find_jar("junit4.jar", "junit.jar")
    hamcrest = _find_jar("hamcrest-core.jar", "hamcrest.jar", "hamcrest-all.jar")
    missing = [name for name, found in
               (("javac", javac), ("java", java), ("junit4.jar", junit), ("hamcrest jar", hamcrest))
               if not found]
    if missing:
        why = ("missing " + ", ".join(missing)
               + ": install with `apt-get install -y openjdk-17-jdk-headless junit4`")
        if os.environ.get("CI"):
            pytest.fail(why + " (CI is set, so this is a failure, not a skip)")
        pytest.skip(why)
    return {"javac": javac, "java": java, "cp": f"{junit}{os.pathsep}{hamcrest}"}


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, **kw)


def _javac(tools: dict[str, str], out: Path, sources: list[Path], cp: str = "") -> None:
    out.mkdir(parents=True, exist_ok=True)
    # --release 8: the core classes may use only Java 8 APIs, which every supported
    # Android level (minSdk 28) provides.
    cmd = [tools["javac"], "--release", "8", "-encoding", "UTF-8", "-nowarn", "-d", str(out)]
    if cp:
        cmd += ["-cp", cp]
    proc = _run(cmd + [str(s) for s in sources])
    assert proc.returncode == 0, f"javac failed:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict[str, str]:
    """The core classes and their tests, compiled; returns the tools and the run classpath."""
    tools = _toolchain()
    out = tmp_path_factory.mktemp("android_java") / "classes"
    sources = sorted(CORE.glob("*.java")) + sorted(TESTS.glob("*.java"))
    _javac(tools, out, sources, cp=tools["cp"])
    return {**tools, "run_cp": f"{out}{os.pathsep}{tools['cp']}"}


def _java(compiled: dict[str, str], main: str, *args: str, stdin: str = "") -> str:
    proc = _run([compiled["java"], "-cp", compiled["run_cp"], main, *args], input=stdin)
    assert proc.returncode == 0, f"{main} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_junit_suite_passes(compiled):
    classes = sorted(f"org.frbench.bench.core.{p.stem}" for p in TESTS.glob("*Test.java"))
    assert len(classes) >= 8, classes
    proc = _run([compiled["java"], "-cp", compiled["run_cp"], "org.junit.runner.JUnitCore",
                 *classes])
    assert proc.returncode == 0, f"JUnit failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    m = re.search(r"^OK \((\d+) tests?\)$", proc.stdout, re.MULTILINE)
    assert m, f"no 'OK (N tests)' line in:\n{proc.stdout[-3000:]}"
    assert int(m.group(1)) > 0


def _numpy_stats(v: np.ndarray) -> list[float]:
    """The Python side's reference formulas."""
    n = v.size
    k = int(0.1 * n)
    return [
        float(np.mean(v)),
        float(np.std(v, ddof=1)) if n > 1 else 0.0,
        float(np.min(v)),
        float(np.percentile(v, 50)),
        float(np.percentile(v, 90)),
        float(np.percentile(v, 99)),
        float(np.max(v)),
        float(np.mean(np.sort(v)[k:n - k])),
    ]


def _bits_to_float(bits: str) -> float:
    return struct.unpack("<d", struct.pack("<q", int(bits)))[0]


def test_stats_equal_numpy_exactly(compiled):
    rng = np.random.default_rng(20240531)
    sizes = [1, 2, 3, 4, 7, 8, 9, 10, 11, 19, 20, 21, 50, 99, 100, 127, 128, 129, 257, 1000, 4097]
    samples = []
    for n in sizes:
        samples.append(rng.lognormal(mean=2.0, sigma=0.4, size=n))  # latency-like, ms
        samples.append(np.round(rng.uniform(0.5, 3.0, size=n), 2))  # with ties
    samples.append(np.array([5.0] * 13))
    samples.append(np.array([1e-3, 1e3, 0.1, 0.2, 0.30000000000000004]))
    stdin = "".join(" ".join(repr(float(x)) for x in s) + "\n" for s in samples)
    lines = _java(compiled, "org.frbench.bench.core.StatsMain", stdin=stdin).splitlines()
    assert len(lines) == len(samples)
    names = ["mean", "std", "min", "p50", "p90", "p99", "max", "trimmed_mean"]
    for s, line in zip(samples, lines):
        got = [_bits_to_float(b) for b in line.split()]
        want = _numpy_stats(s)
        for name, g, w in zip(names, got, want):
            assert g == w, f"{name} of n={s.size}: java {g!r} != numpy {w!r}"


def test_mean_dice_equals_numpy_exactly(compiled):
    rng = np.random.default_rng(7)
    samples = [rng.uniform(0, 1, size=n) for n in (1, 5, 8, 33, 200)]
    stdin = "".join("dice " + " ".join(repr(float(x)) for x in s) + "\n" for s in samples)
    lines = _java(compiled, "org.frbench.bench.core.StatsMain", stdin=stdin).splitlines()
    for s, line in zip(samples, lines):
        assert _bits_to_float(line) == float(np.mean(s))


def _strict_json(line: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(line, parse_constant=refuse)


def test_result_json_has_the_format_1_keys(compiled):
    out = _java(compiled, "org.frbench.bench.core.FakeRunMain")
    lines = out.splitlines()
    assert len(lines) == 3, out  # one line per result: single-line JSON
    ok, failed, program = (_strict_json(line) for line in lines)
    for line in lines:
        assert line.isascii()

    assert list(ok) == [*RESULT_KEYS, "profile", "ran"]
    assert ok["profile"]["available"] is False and ok["profile"]["reason"]  # the fake runtime has no profiler
    for key, keys in NESTED_KEYS.items():
        assert list(ok[key]) == keys, key
    assert list(ok["ran"]) == RAN_KEYS
    # the fake model is fast: the plan's defaults (frbench.bench.Plan) bound nothing but the counts
    assert ok["ran"] == {"warmups": 4, "warmups_stopped_by": "count", "iters": 6, "iters_stopped_by": "count",
                         "dice_images": 3, "dice_stopped_by": "count"}
    from frbench.bench.plan import Plan

    default = Plan()
    assert ok["plan"] == {"warmup": 4, "warmup_s": default.warmup_s, "iters": 6, "min_iters": default.min_iters,
                          "max_s": default.max_s, "threads": 2, "dice_s": default.dice_s}
    assert ok["format"] == 1 and ok["unit"] == "ms" and ok["runner"] == "android"
    assert ok["error"] is None
    assert len(ok["warmups"]) == ok["plan"]["warmup"] == 4
    assert len(ok["values"]) == ok["plan"]["iters"] == 6
    assert ok["stats"]["p50"] == float(np.percentile(ok["values"], 50))
    assert ok["accuracy"]["images"] == len(ok["accuracy"]["dice_per_image"]) == 3
    assert ok["accuracy"]["dice"] == float(np.mean(ok["accuracy"]["dice_per_image"]))
    assert ok["memory"]["peak_rss"] > 0  # VmHWM of the JVM that ran it

    assert list(failed) == RESULT_KEYS  # no `ran`
    assert failed["error"] == 'load: RuntimeException: cannot "open"\n\u00e9'
    for key in MEASUREMENTS:
        assert failed[key] is None, key
    assert failed["model"]["path"] == ok["model"]["path"]

    # The Python side reads both with the same schema and statistics as host results.
    from frbench.bench.result import check_result, with_stats

    check_result(ok, "FakeRunMain (success)")
    check_result(failed, "FakeRunMain (error)")
    assert with_stats(dict(ok))["stats"] == ok["stats"]

    # a program plus weights file: model.weights (path, bytes) after the model's own keys
    assert list(program) == [*RESULT_KEYS, "profile", "ran"] and program["error"] is None
    assert list(program["model"]) == [*NESTED_KEYS["model"], "weights"]
    weights = program["model"]["weights"]
    assert list(weights) == ["path", "bytes"]
    assert weights["path"].endswith("/weights.bin") and weights["bytes"] == 7
    assert program["model"]["path"] == ok["model"]["path"]
    check_result(program, "FakeRunMain (program plus weights)")


def test_the_app_reads_the_plan_the_runner_sends(compiled):
    """`AndroidRunner.instrument_command`'s arguments, parsed by the app's BenchArgs: its plan is the
    runner's (an unbounded phase, `inf`, is written as null), and a bad bound is an error naming it."""
    import shlex

    from frbench.bench.android import AndroidRunner
    from frbench.bench.plan import Plan

    plans = [Plan(), Plan(warmup=0, warmup_s=0, iters=1, min_iters=7, max_s=0.25, threads=3, dice_s=1e-5),
             Plan(warmup_s=float("inf"), max_s=1e20, dice_s=float("inf"), min_iters=1), Plan(max_s=7, dice_s=30)]
    lines = []
    for plan in plans:
        argv = shlex.split(AndroidRunner.instrument_command(fmt="ptl", model="/d/m.ptl", plan=plan, images="/d/i.bin",
                                                            masks="/d/m.bin", shape="2,3,8,8", out="/d/o.json"))
        lines.append("\t".join(f"{argv[i + 1]}={argv[i + 2]}" for i, a in enumerate(argv) if a == "-e"))
    lines += ["model=/d/m.ptl\tshape=1,3,8,8\tmax_s=-1", "model=/d/m.ptl\tshape=1,3,8,8\tdice_s=nan",
              "model=/d/m.ptl\tshape=1,3,8,8\tmin_iters=0"]
    out = _java(compiled, "org.frbench.bench.core.ArgsMain", stdin="\n".join(lines) + "\n").splitlines()
    assert len(out) == len(lines)
    keys = NESTED_KEYS["plan"]
    for plan, line in zip(plans, out):
        want = {k: getattr(plan, k) for k in keys}
        want = {k: None if v == float("inf") else v for k, v in want.items()}
        assert _strict_json(line) == want
        assert list(_strict_json(line)) == keys
    assert out[len(plans):] == ["error: max_s: expected a number of seconds >= 0 (or inf), got -1",
                                "error: dice_s: expected a number of seconds >= 0 (or inf), got 'nan'",
                                "error: min_iters: expected an integer >= 1, got 0"]


def _flavor_sources(flavor: str) -> list[Path]:
    return sorted((APP / "src" / flavor / "java").rglob("*.java"))


@pytest.mark.parametrize("flavor", FLAVORS)
def test_android_glue_compiles_against_stubs(flavor, tmp_path):
    """The glue and the flavor's runner, against stubs of the Android and runtime APIs."""
    tools = _toolchain()
    gen = tmp_path / "gen" / "org" / "frbench" / "bench"
    gen.mkdir(parents=True)
    # What the Android Gradle Plugin generates from app/build.gradle's buildConfigField lines.
    (gen / "BuildConfig.java").write_text(
        "package org.frbench.bench;\n"
        "public final class BuildConfig {\n"
        '  public static final String VERSION_NAME = "0.1.0";\n'
        '  public static final String RUNTIME_NAME = "runtime";\n'
        '  public static final String RUNTIME_VERSION = "0";\n'
        "}\n"
    )
    sources = (sorted(STUBS.rglob("*.java")) + [gen / "BuildConfig.java"]
               + sorted(CORE.glob("*.java")) + sorted(MAIN.glob("*.java"))
               + _flavor_sources(flavor))
    _javac(tools, tmp_path / "classes", sources)
    assert (tmp_path / "classes" / "org" / "frbench" / "bench" / "Runners.class").is_file()


def _gradle_text(path: str) -> str:
    return (ROOT / "android_bench" / path).read_text()


def test_manifest_classes_exist_in_every_flavor():
    android = "{http://schemas.android.com/apk/res/android}"
    manifest = ET.parse(APP / "src" / "main" / "AndroidManifest.xml").getroot()
    namespace = re.search(r'namespace\s*=?\s*"([\w.]+)"', _gradle_text("app/build.gradle")).group(1)
    instrumentations = manifest.findall("instrumentation")
    assert len(instrumentations) == 1
    assert instrumentations[0].get(android + "targetPackage") == "${applicationId}"
    named = [el.get(android + "name") for el in manifest.iter() if el.get(android + "name")]
    assert named
    for name in named:
        fqcn = namespace + name if name.startswith(".") else name
        rel = Path(*fqcn.split(".")).with_suffix(".java")
        main = APP / "src" / "main" / "java" / rel
        for flavor in FLAVORS:
            flavored = APP / "src" / flavor / "java" / rel
            assert main.is_file() or flavored.is_file(), f"{fqcn} has no source for {flavor}"
    # Every flavor provides the runner factory the glue calls, and the runner its format names.
    for flavor in FLAVORS:
        folder = APP / "src" / flavor / "java" / "org" / "frbench" / "bench"
        assert (folder / "Runners.java").is_file()
        runner = get_format(flavor).android_runner
        assert (folder / f"{runner}.java").is_file(), runner
        assert f"new {runner}()" in (folder / "Runners.java").read_text()


def test_gradle_project_declares_every_flavor():
    app = _gradle_text("app/build.gradle")
    for needle in ('flavorDimensions "runtime"', *(f"{flavor} {{" for flavor in FLAVORS),
                   'ptlImplementation "org.pytorch:pytorch_android_lite:',
                   'pteImplementation "org.pytorch:executorch-android:',
                   'onnxImplementation "com.microsoft.onnxruntime:onnxruntime-android:',
                   'testImplementation "junit:junit:4.13.2"', "minSdk 28", "compileSdk 34"):
        assert needle in app, needle
    assert 'include ":app"' in _gradle_text("settings.gradle")
    assert re.search(r'id "com\.android\.application" version "8\.\d+\.\d+"',
                     _gradle_text("build.gradle"))
    wrapper = _gradle_text("gradle/wrapper/gradle-wrapper.properties")
    assert re.search(r"distributionUrl=.*gradle-8\.\d+(\.\d+)?-bin\.zip", wrapper)
    props = _gradle_text("gradle.properties")
    assert "android.useAndroidX=true" in props
    # The runtime versions the APKs are built against match the Python exporter's pins.
    pyproject = (ROOT / "pyproject.toml").read_text()
    et = re.search(r'"executorch==([\w.]+)"', pyproject)
    if et:
        assert f"executorchVersion={et.group(1)}" in props
    ort = re.search(r'"onnxruntime==([\w.]+)"', pyproject)
    assert ort and f"onnxruntimeVersion={ort.group(1)}" in props
