"""The benchmark app as the Python side sees it: package and instrumentation names, the APK of each
flavor (android_bench/README.md), and quoting for the device shell."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

APP_PACKAGE = "org.frbench.bench"  # + "." + fmt: the flavor's applicationId suffix
INSTRUMENTATION_CLASS = "org.frbench.bench.BenchInstrumentation"
REMOTE_DIR = "/data/local/tmp/frbench"
REPO = Path(__file__).resolve().parents[3]


def package_for(fmt: str) -> str:
    return f"{APP_PACKAGE}.{fmt}"


def component_for(fmt: str) -> str:
    return f"{package_for(fmt)}/{INSTRUMENTATION_CLASS}"


def sh(*argv) -> str:
    """One shell command line with every word quoted."""
    return shlex.join(str(a) for a in argv)


def find_apk(fmt: str) -> Path | None:
    name = f"app-{fmt}-debug.apk"
    candidates = []
    if os.environ.get("FRBENCH_APK_DIR"):
        candidates.append(Path(os.environ["FRBENCH_APK_DIR"]) / name)
    gradle_out = Path("android_bench/app/build/outputs/apk") / fmt / "debug" / name
    candidates += [gradle_out, REPO / gradle_out]
    return next((p for p in candidates if p.is_file()), None)
