"""Facts about this process and machine, collected rather than typed in (pyperf's
`collect_metadata`): memory of the current process, CPU model, load."""

from __future__ import annotations

import os
import platform
import resource
from pathlib import Path

import psutil


def _proc_status_kb(field: str) -> int | None:
    """A `kB` field of /proc/self/status (Linux), e.g. VmHWM, the peak resident set."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_kb() -> int:
    """Current resident set size of this process, in kB (psutil)."""
    return psutil.Process().memory_info().rss // 1024


def minor_faults() -> int:
    """Minor page faults of this process so far (getrusage): pages mapped in on first touch."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def peak_rss_kb() -> int:
    """Peak resident set size of this process so far, in kB: VmHWM on Linux,
    getrusage's ru_maxrss elsewhere (kB on Linux, bytes on macOS)."""
    hwm = _proc_status_kb("VmHWM")
    if hwm is not None:
        return hwm
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss // 1024 if platform.system() == "Darwin" else maxrss


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (a container's or `taskset`'s share), which
    can be fewer than the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # no affinity on this system (macOS)
        return os.cpu_count() or 1


def capped_threads(requested: int) -> int:
    """Threads for a job asked to use `requested` (snakemake's `{threads}`): never more than the cores it
    may run on, where more threads would only wait for each other."""
    return max(1, min(requested, usable_cores()))


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host_facts() -> dict:
    """The host as a benchmark device: CPU, cores, memory, and the load when asked."""
    return {
        "kind": "host",
        "cpu": cpu_model(),
        "machine": platform.machine(),
        "system": f"{platform.system()} {platform.release()}",
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "memory_total_mb": psutil.virtual_memory().total // 2**20,
        "load_avg": list(os.getloadavg()),
        "cpu_percent": psutil.cpu_percent(interval=0.2),
    }
