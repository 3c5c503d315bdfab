"""Which devices a study benchmarks on: the config's `devices`, resolved against `adb devices`.

- `host`: this machine (the host runner); adb is not asked.
- `auto`: every emulator or phone the adb server lists as ready (state `device`), or `host`
  when there is none, or when there is no adb server and none can be started.
- anything else is an adb serial (`emulator-5554`, `R58M123ABC`, `192.168.1.7:5555`) and must
  be attached and ready: otherwise a ConfigError names it, says what adb sees, and what to do.
  A device that is still booting is accepted here; the Android runner waits for
  `sys.boot_completed` before it benchmarks.

The adb server is reached with adbutils (host and port from ANDROID_ADB_SERVER_HOST/_PORT,
as adb itself reads them); adbutils starts the server when none runs. Snakemake calls
`resolve_devices` once when it parses the workflow (workflow/rules/common.smk), so `auto` is
decided at that moment and the `device` wildcard holds a serial from then on.
"""

from __future__ import annotations

import sys

from ..errors import ConfigError

HOST = "host"
AUTO = "auto"

_STATE_HINTS = {
    "unauthorized": "accept the 'Allow USB debugging' prompt on the phone",
    "offline": "the device is starting or its adb connection is stuck: wait, or run `adb reconnect offline`",
    "authorizing": "accept the 'Allow USB debugging' prompt on the phone",
    "no permissions": "the adb server cannot open the USB device: check udev rules (see `adb devices -l`)",
    "bootloader": "the device is in its bootloader: boot Android",
    "recovery": "the device is in recovery: boot Android",
    "sideload": "the device is in sideload mode: boot Android",
}


def _default_client():
    import adbutils

    return adbutils.AdbClient()


def attached(adb=None) -> list[tuple[str, str]]:
    """(serial, state) of everything the adb server lists, ready or not. `adb` is an
    adbutils.AdbClient or anything with the same `list()`."""
    client = adb if adb is not None else _default_client()
    return [(info.serial, info.state) for info in client.list()]


def resolve_devices(devices: list[str], adb=None, log=sys.stderr) -> list[str]:
    """The config's `devices` as the list of `device` wildcard values: `auto` expanded,
    duplicates dropped (first kept), each serial checked against the adb server."""
    wanted = list(dict.fromkeys(devices))
    if all(d == HOST for d in wanted):
        return wanted  # no adb needed

    try:
        listed = attached(adb)
        adb_error = None
    except Exception as e:  # noqa: BLE001 - adbutils raises AdbError, OSError, timeouts...
        listed, adb_error = [], f"{type(e).__name__}: {e}"
    ready = sorted(serial for serial, state in listed if state == "device")
    states = dict(listed)

    resolved: list[str] = []
    for d in wanted:
        if d == HOST:
            resolved.append(HOST)
        elif d == AUTO:
            if ready:
                resolved.extend(ready)
                print(f"devices: auto -> {', '.join(ready)} (attached and ready, from `adb devices`)", file=log)
            else:
                why = f"no adb server ({adb_error})" if adb_error else "no emulator or phone attached"
                print(f"devices: auto -> host ({why})", file=log)
                resolved.append(HOST)
        elif d in states and states[d] == "device":
            resolved.append(d)
        elif d in states:
            hint = _STATE_HINTS.get(states[d], "see `adb devices -l`")
            raise ConfigError(f"devices: {d!r} is attached but {states[d]!r}, not ready: {hint}; "
                              "or benchmark elsewhere with `auto` or `host`")
        else:
            seen = ", ".join(f"{s} ({st})" for s, st in listed) or "nothing"
            where = f"the adb server could not be reached ({adb_error})" if adb_error else f"`adb devices` lists {seen}"
            raise ConfigError(f"devices: {d!r} is not attached: {where}. Start the emulator or plug the phone in "
                              "(android_bench/README.md), or use `auto` (attached devices, else the host) or `host`")
    return list(dict.fromkeys(resolved))
