"""Heap bytes a model holds, in a pass of its own after the timed runs (the result's `heap`).

Resident pages measure the allocator and the runtime, not a 14 kB model (issue #26: 708 kB "added
by load" for every model alike). This pass counts the bytes the runtime asks for instead, with
memray (`memray.Tracker`): it intercepts malloc, calloc, realloc, posix_memalign, aligned_alloc,
memalign, valloc, mmap and munmap in every loaded library, torch's, ExecuTorch's and ONNX Runtime's
included, so native allocations are seen, not only Python's. Its capture file keeps every
allocation and free in order (`FileFormat.ALL_ALLOCATIONS`); between phases the worker maps one
anonymous block of a size nothing else asks for (`_Markers`), and replaying the capture gives the
bytes live at each marker and the most live between two of them:

- `held_after_load`: what loading the file left allocated (the program, its weights, a planned
  arena allocated at load);
- `held_after_first_inference`: after the first call too (FR's `.ptl` unpacks its dense weights
  there, so this is at least their bytes);
- `peak_first_inference`, `peak_inference`: the most held during the first call and during a later
  one (activations, scratch);
- `held_after_inference`: after that later call.

Counted from the start of the load, on a runtime already loaded once in this process (the timed
pass's model is released first): what one more model costs an app that runs the runtime, without the
runtime's own one-time set-up. Bytes as asked for, not pages: the allocator's rounding and caching are
what peak RSS, kept beside, shows. The pass never runs while anything is timed.
"""

from __future__ import annotations

import gc
import mmap
import tempfile
from pathlib import Path

PHASES = ("load", "first_inference", "inference")
MARK_PAGES = 1931  # marker blocks are 1931 + k pages: an anonymous map of that size is this pass's alone


class _Markers:
    """Phase boundaries in the capture: an anonymous map of 1931 + k pages, unmapped at once."""

    def __init__(self):
        self.sizes: list[int] = []

    def mark(self) -> None:
        size = (MARK_PAGES + len(self.sizes)) * mmap.PAGESIZE
        self.sizes.append(size)
        block = mmap.mmap(-1, size)
        block.close()


def _allocator_kinds():
    from memray import AllocatorType as A

    allocations = {A.MALLOC, A.CALLOC, A.REALLOC, A.POSIX_MEMALIGN, A.ALIGNED_ALLOC, A.MEMALIGN, A.VALLOC, A.PVALLOC,
                   A.PYMALLOC_MALLOC, A.PYMALLOC_CALLOC, A.PYMALLOC_REALLOC}
    frees = {A.FREE, A.PYMALLOC_FREE}
    return allocations, frees, A.MMAP, A.MUNMAP


def _unmap(maps: dict[int, int], start: int, size: int) -> int:
    """Remove [start, start + size) from the live maps (a munmap may cover part of a map, or several);
    returns the bytes removed."""
    end, removed = start + size, 0
    for base, length in list(maps.items()):
        top = base + length
        if top <= start or base >= end:
            continue
        del maps[base]
        removed += min(top, end) - max(base, start)
        if base < start:
            maps[base] = start - base
        if top > end:
            maps[end] = top - end
    return removed


def replay(records, marker_sizes: list[int]) -> list[dict]:
    """Live bytes at each marker and the most live since the marker before, from memray's records in
    order (`FileReader.get_allocation_records()`). Frees of blocks allocated before tracking began are
    not counted (their sizes are unknown); the markers' own maps are left out."""
    allocations, frees, mmap_kind, munmap_kind = _allocator_kinds()
    wanted = {size: i for i, size in enumerate(marker_sizes)}
    heap: dict[int, int] = {}  # address -> bytes, for the malloc family
    maps: dict[int, int] = {}  # start -> bytes, for mmap
    live = peak = 0
    marks: list[dict] = []
    marker_maps: set[int] = set()
    for r in records:
        kind = r.allocator
        if kind in allocations:
            live -= heap.get(r.address, 0)
            heap[r.address] = r.size
            live += r.size
        elif kind in frees:
            live -= heap.pop(r.address, 0)
        elif kind == mmap_kind:
            if r.size in wanted and len(marks) == wanted[r.size]:
                marks.append({"live": live, "peak": peak})
                marker_maps.add(r.address)
                peak = live
                continue
            maps[r.address] = r.size
            live += r.size
        elif kind == munmap_kind:
            if r.address in marker_maps:
                marker_maps.discard(r.address)
                continue
            live -= _unmap(maps, r.address, r.size)
        peak = max(peak, live)
    return marks


def measure_heap(runtime, model: str, weights: str | None, x) -> dict:
    """The heap pass: load `model` afresh with `runtime` (a Format), run it twice on `x`, under memray."""
    import memray

    markers = _Markers()
    gc.collect()
    with tempfile.TemporaryDirectory(prefix="frbench-heap-") as tmp:
        capture = Path(tmp) / "heap.memray"
        with memray.Tracker(str(capture), native_traces=False, file_format=memray.FileFormat.ALL_ALLOCATIONS):
            markers.mark()
            loaded = runtime.load(model, weights)
            markers.mark()
            runtime.run(loaded, x)  # the output is dropped before the marker: it is the caller's, not the model's
            markers.mark()
            runtime.run(loaded, x)
            markers.mark()
            del loaded
        reader = memray.FileReader(str(capture))
        marks = replay(reader.get_allocation_records(), markers.sizes)
        allocations = reader.metadata.total_allocations
    if len(marks) != len(markers.sizes):
        raise RuntimeError(f"memray's capture holds {len(marks)} of the pass's {len(markers.sizes)} phase markers")
    start = marks[0]["live"]
    return {"tool": f"memray {memray_version()}", "unit": "B",
            "held_after_load": marks[1]["live"] - start, "peak_load": marks[1]["peak"] - start,
            "held_after_first_inference": marks[2]["live"] - start, "peak_first_inference": marks[2]["peak"] - start,
            "held_after_inference": marks[3]["live"] - start, "peak_inference": marks[3]["peak"] - start,
            "allocations": allocations, "from": "a second load of the file in the benchmark worker, after its timed runs"}


def memray_version() -> str:
    from importlib.metadata import version

    return version("memray")


def heap_pass(runtime, model: str, weights: str | None, x) -> dict:
    """`measure_heap`, or `{"error": ...}`: a failed pass loses the row nothing else."""
    try:
        return measure_heap(runtime, model, weights, x)
    except Exception as e:  # noqa: BLE001 - the timed result stands; the pass says why it has no figures
        return {"error": f"{type(e).__name__}: {e}"}
