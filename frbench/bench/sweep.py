"""A thread sweep (`bench.threads: [1, 2, 4]`): one benchmark of every model per thread count, each a
row of its own.

The count is part of where a result goes, as a suffix of the device: the first count of the list runs
as the device itself (`host`, `emulator-5554`: a study with one count, the default, keeps its paths and
results), every other count as `DEVICE@tN` (`host@t4`, `emulator-5554@t2`; `@` is in no adb serial).
So `results/bench/host@t4/...` is the host at 4 threads, the summary's `device` column and the report's
groups keep the counts apart with no change to them (a latency at one count is never pooled with one
at another), and `threads` still records what the runtime ran with."""

from __future__ import annotations

import re

SUFFIX = re.compile(r"^(?P<device>.+)@t(?P<threads>[1-9][0-9]*)$")


def thread_counts(bench: dict) -> list[int]:
    """The config's `bench.threads` as a list of counts, in order, without repeats."""
    threads = bench.get("threads", 1)
    return list(dict.fromkeys(threads if isinstance(threads, list) else [threads]))


def device_labels(devices: list[str], bench: dict) -> list[str]:
    """The `device` wildcard's values: each device at the first count, then at every other count."""
    first, *others = thread_counts(bench)
    return [label for device in devices for label in [device, *(f"{device}@t{n}" for n in others)]]


def split_label(label: str, bench: dict) -> tuple[str, int]:
    """(device, threads) of a `device` wildcard value."""
    m = SUFFIX.match(label)
    return (m["device"], int(m["threads"])) if m else (label, thread_counts(bench)[0])


def plan_for_threads(bench: dict, threads: int) -> dict:
    """The `bench` block as one job's plan: `threads` one count."""
    return {**bench, "threads": threads}


def plan_for_device(bench: dict, label: str) -> dict:
    """The plan of the job that benchmarks on `label` (`host`, `host@t4`)."""
    return plan_for_threads(bench, split_label(label, bench)[1])
