"""A device's facts, from `getprop` and the kernel's CPU list: what every Android result records."""

from __future__ import annotations


def parse_getprop(text: str) -> dict[str, str]:
    """`getprop` with no argument prints `[key]: [value]` lines."""
    props = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and "]: [" in line and line.endswith("]"):
            key, value = line[1:-1].split("]: [", 1)
            props[key] = value
    return props


def parse_cpu_list(text: str) -> int | None:
    """`/sys/devices/system/cpu/possible`, e.g. `0-7` or `0-3,6`: the number of cores."""
    total = 0
    try:
        for part in text.strip().split(","):
            lo, _, hi = part.partition("-")
            total += int(hi or lo) - int(lo) + 1
    except ValueError:
        return None
    return total or None


def facts_from(props: dict[str, str], cpus: int | None, serial: str) -> dict:
    sdk = props.get("ro.build.version.sdk", "")
    qemu = props.get("ro.kernel.qemu") or None
    boot_qemu = props.get("ro.boot.qemu") or None
    return {"kind": "android", "serial": serial, "model": props.get("ro.product.model"),
            "manufacturer": props.get("ro.product.manufacturer"), "abi": props.get("ro.product.cpu.abi"),
            "abis": props.get("ro.product.cpu.abilist"), "sdk": int(sdk) if sdk.isdigit() else None,
            "release": props.get("ro.build.version.release"), "cores": cpus,
            "emulator": "1" in (qemu, boot_qemu), "kernel_qemu": qemu, "hardware": props.get("ro.hardware"),
            "fingerprint": props.get("ro.build.fingerprint")}
