"""A device's thermal state around each model, and the cool-down before it (the result's `device_state`).

A phone that ran the model before this one is warmer, and its governor may have lowered the CPU
clocks: ExecuTorch's Android benchmark app snapshots CPU frequencies and cools the device between
models for that reason. Over adb, before and after each model, the runner reads:

- the thermal status Android reports (`dumpsys thermalservice`, "Thermal Status: N": 0 none, 1 light,
  2 moderate, 3 severe, 4 critical, 5 emergency, 6 shutdown; PowerManager's THERMAL_STATUS_*);
- every thermal zone's temperature (`/sys/class/thermal/thermal_zone*/{type,temp}`, millidegrees);
- every core's current clock (`/sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq`, kHz).

`moved` names what changed between the two snapshots (the status; a core's clock by more than
`FREQ_TOLERANCE`); the report flags such a row. Before a model the runner waits, at most
`bench.cooldown_s` seconds, until the device's CPU is at or below `bench.cooldown_temp_c` (its hottest
zone whose type names the CPU, else its hottest zone); a device that reports no temperature is not
waited for, and the record says so. A reading that fails is recorded as an error, never a failed row.
"""

from __future__ import annotations

import re

ZONES_CMD = "grep -H . /sys/class/thermal/thermal_zone*/type /sys/class/thermal/thermal_zone*/temp"
FREQ_CMD = "grep -H . /sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq"
STATUS_CMD = "dumpsys thermalservice"
FREQ_TOLERANCE = 0.10  # a core's clock that moved by more than 10 % between before and after
POLL_S = 5.0


def parse_zones(text: str) -> dict[str, float]:
    """`grep -H .` over the zones' `type` and `temp` files -> {"thermal_zone0 (cpu-0-0)": 41.5} in °C.
    A temperature above 1000 is in millidegrees (the kernel's unit); zones without a type keep their name."""
    types, temps = {}, {}
    for line in text.splitlines():
        m = re.match(r"^/sys/class/thermal/(thermal_zone\d+)/(type|temp):(.*)$", line.strip())
        if not m:
            continue
        zone, field, value = m.groups()
        if field == "type":
            types[zone] = value.strip()
        else:
            try:
                t = float(value)
            except ValueError:
                continue
            temps[zone] = t / 1000 if abs(t) >= 1000 else t
    return {f"{zone} ({types[zone]})" if zone in types else zone: t for zone, t in sorted(temps.items())}


def parse_freqs(text: str) -> dict[str, int]:
    """`grep -H .` over each core's `scaling_cur_freq` -> {"cpu0": 1804800} in kHz."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^/sys/devices/system/cpu/(cpu\d+)/cpufreq/scaling_cur_freq:(\d+)\s*$", line.strip())
        if m:
            out[m.group(1)] = int(m.group(2))
    return dict(sorted(out.items(), key=lambda kv: int(kv[0][3:])))


def parse_status(text: str) -> int | None:
    """"Thermal Status: N" from `dumpsys thermalservice`; None where it prints none (an older Android)."""
    m = re.search(r"Thermal Status:\s*(\d+)", text)
    return int(m.group(1)) if m else None


def cpu_temp(zones: dict[str, float]) -> float | None:
    """The CPU's temperature: the hottest zone whose type names the CPU, else the hottest zone; None
    without zones. Readings outside -40..150 °C (a zone that is not wired up) are left out."""
    valid = {k: v for k, v in zones.items() if -40 <= v <= 150}
    cpu = [v for k, v in valid.items() if "cpu" in k.lower()]
    pool = cpu or list(valid.values())
    return max(pool) if pool else None


def snapshot(shell) -> dict:
    """The device's thermal status, zone temperatures and core clocks now; `shell(cmd)` runs one command."""
    state: dict = {}
    for key, cmd, parse in (("temperatures_c", ZONES_CMD, parse_zones), ("thermal_status", STATUS_CMD, parse_status),
                            ("cpu_freq_khz", FREQ_CMD, parse_freqs)):
        try:
            state[key] = parse(shell(cmd))
        except Exception as e:  # noqa: BLE001 - a reading the device refuses is recorded, never a failed row
            state[key] = None
            state.setdefault("errors", []).append(f"{cmd}: {type(e).__name__}: {e}")
    state["cpu_temp_c"] = cpu_temp(state.get("temperatures_c") or {})
    return state


def moved(before: dict, after: dict) -> list[str]:
    """What changed between two snapshots: the thermal status, and each core whose clock moved by more
    than FREQ_TOLERANCE (a governor that throttled, or a core that went to sleep)."""
    out = []
    if before.get("thermal_status") != after.get("thermal_status") and None not in (
            before.get("thermal_status"), after.get("thermal_status")):
        out.append(f"thermal status {before['thermal_status']} -> {after['thermal_status']}")
    f0, f1 = before.get("cpu_freq_khz") or {}, after.get("cpu_freq_khz") or {}
    for cpu in f0.keys() & f1.keys():
        if f0[cpu] and abs(f1[cpu] - f0[cpu]) > FREQ_TOLERANCE * f0[cpu]:
            out.append(f"{cpu} {f0[cpu] / 1e3:.0f} -> {f1[cpu] / 1e3:.0f} MHz")
    return sorted(out)


def cool_down(shell, limit_s: float, target_c: float, sleep, clock, poll_s: float = POLL_S) -> dict:
    """Wait, at most `limit_s` seconds, until the CPU is at or below `target_c` °C. What happened:
    `waited_s`, the temperatures at start and end, and why it stopped (`cool`, `time`, `no temperature`,
    `off` when `limit_s` is 0)."""
    start = clock()
    first = temp = cpu_temp(snapshot_zones(shell))
    record = {"limit_s": limit_s, "target_c": target_c, "start_c": first}
    if limit_s <= 0:
        return {**record, "waited_s": 0.0, "end_c": first, "stopped_by": "off"}
    if temp is None:
        return {**record, "waited_s": 0.0, "end_c": None, "stopped_by": "no temperature"}
    while temp is not None and temp > target_c and clock() - start < limit_s:
        sleep(min(poll_s, max(0.0, limit_s - (clock() - start))))
        temp = cpu_temp(snapshot_zones(shell))
    stopped = "cool" if temp is not None and temp <= target_c else "time"
    return {**record, "waited_s": round(clock() - start, 3), "end_c": temp, "stopped_by": stopped}


def snapshot_zones(shell) -> dict[str, float]:
    try:
        return parse_zones(shell(ZONES_CMD))
    except Exception:  # noqa: BLE001 - no zones readable: no temperature to wait for
        return {}
