"""The `.pte` app's ETDump (`Module.etdump()`, where the executorch-android AAR was built with its event
tracer), pulled from the device and read into the profile the host records (frbench.bench.profile)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from .app import sh


def pull_profile(result: dict, read_bytes, shell) -> None:
    """Where the app's result says an ETDump was written (`profile.etdump_device_path`), pull it, read it
    with executorch.devtools' Inspector into the profile's phases and summary, and remove it from the
    device; where reading fails, the profile says why. Other results are left as they are."""
    prof = result.get("profile") or {}
    path = prof.get("etdump_device_path")
    if not (prof.get("available") and path):
        return
    try:
        with tempfile.TemporaryDirectory(prefix="frbench-etdump-") as tmp:
            local = Path(tmp) / "model.etdp"
            local.write_bytes(read_bytes(path))
            from ...formats.profiling import etdump_phases  # torch and executorch: only when a device wrote one
            from ..profile import summarize

            phases = etdump_phases(str(local), result.get("load_ms"))
        result["profile"] = {**prof, "stand_in": None, **phases, "summary": summarize(phases)}
    except Exception as e:  # noqa: BLE001 - an unreadable ETDump loses the profile, never the row
        result["profile"] = {"available": False, "reason": f"the app wrote {path}, but it could not be read: "
                                                           f"{type(e).__name__}: {e}"}
    try:
        shell(sh("rm", "-f", path))
    except Exception:  # noqa: BLE001 - the device may be gone; the next model's ETDump replaces it
        pass
