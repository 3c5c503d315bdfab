"""The host's memory allocator, chosen for the benchmark worker and recorded with its result.

A large model's forward allocates activation buffers of tens of megabytes and frees them at its end.
Where those buffers go decides whether every forward page-faults them in again, and so a visible
part of its time and its peak RSS (UNet-31M at 640x959: 3.5 of 14 s in the kernel with glibc as is,
issue #16). `bench.allocator` picks the worker's allocator (the worker's environment only):

- `glibc`: as is (the default). glibc serves a block above its mmap threshold (at most 32 MiB) with
  its own mapping and unmaps it on free, so such buffers fault in again at every forward. This is
  what predicts a phone best: Android's allocator, Scudo, caches freed large blocks only up to 2 MiB
  (`SecondaryCacheDefaultMaxEntrySize = 2UL << 20` in its AndroidConfig) and unmaps bigger ones, and
  jemalloc (Android 10 and older) returns freed pages as well.
- `glibc_tuned`: glibc with the mmap and trim thresholds raised, so freed buffers stay in the heap and
  later forwards take no page faults: the best case, a steady-state server.
- `jemalloc`, `tcmalloc`: Debian's `libjemalloc2` and `libtcmalloc-minimal4`, preloaded.

`benchmarks/allocators.py` measures the four side by side.
"""

from __future__ import annotations

import ctypes.util
import os
from pathlib import Path

from ..errors import ConfigError

GIB = 1 << 30
#: environment of the benchmark worker, per allocator
ALLOCATORS: dict[str, dict[str, str]] = {
    "glibc": {},
    "glibc_tuned": {"MALLOC_MMAP_THRESHOLD_": str(4 * GIB), "MALLOC_TRIM_THRESHOLD_": str(64 * GIB)},
    "jemalloc": {"LD_PRELOAD": "libjemalloc.so.2"},
    "tcmalloc": {"LD_PRELOAD": "libtcmalloc_minimal.so.4"},
}
DEBIAN_PACKAGES = {"jemalloc": "libjemalloc2", "tcmalloc": "libtcmalloc-minimal4"}


def worker_env(name: str) -> dict[str, str]:
    """The variables that give a worker process allocator `name`; a ConfigError naming the key and the
    package to install when the library is not on this machine."""
    if name not in ALLOCATORS:
        raise ConfigError(f"bench.allocator: unknown allocator {name!r}; known: {sorted(ALLOCATORS)}")
    env = ALLOCATORS[name]
    library = env.get("LD_PRELOAD")
    if not installed(name):
        raise ConfigError(f"bench.allocator: {name} needs {library}, which this machine lacks; install Debian's "
                          f"{DEBIAN_PACKAGES[name]} (`apt-get install {DEBIAN_PACKAGES[name]}`, as `make test` does) "
                          "or choose glibc")
    return dict(env)


def installed(name: str) -> bool:
    """Whether this machine has allocator `name`'s library (glibc's always is)."""
    library = ALLOCATORS[name].get("LD_PRELOAD")
    return library is None or ctypes.util.find_library(library.removeprefix("lib").split(".so")[0]) is not None


def active_allocator(name: str) -> dict:
    """What this process runs on: the allocator asked for, the preloaded library if one is mapped, the
    C library's version and the allocator variables of its environment (the result's metadata)."""
    maps = Path("/proc/self/maps")
    mapped = sorted({line.split()[-1] for line in maps.read_text().splitlines()
                     if "malloc" in line.rsplit("/", 1)[-1]}) if maps.exists() else []
    libc = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in os.confstr_names else None
    env = {k: os.environ[k] for k in ("LD_PRELOAD", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_") if k in os.environ}
    return {"name": name, "libc": libc, "preloaded": mapped, "env": env}
