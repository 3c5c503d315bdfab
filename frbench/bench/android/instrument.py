"""`am instrument -w -r` output: its status and result records, and the app's result JSON in them
(or the reason there is none)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ...errors import BenchError

STATUS_PREFIX = "INSTRUMENTATION_STATUS: "
RESULT_PREFIX = "INSTRUMENTATION_RESULT: "


@dataclass
class InstrumentOutput:
    """What `am instrument -w -r` printed, by key. Values can span lines (a stack trace), so a
    line that starts no record continues the value before it."""

    status: dict = field(default_factory=dict)  # the last value of every status key
    result: dict = field(default_factory=dict)  # INSTRUMENTATION_RESULT keys
    code: int | None = None  # INSTRUMENTATION_CODE (-1 = Activity.RESULT_OK)
    failed: str | None = None  # INSTRUMENTATION_FAILED: <component>
    aborted: str | None = None  # INSTRUMENTATION_ABORTED: <reason>
    text: str = ""

    def get(self, key: str):
        return self.result.get(key, self.status.get(key))

    def tail(self, lines: int = 12) -> str:
        return "\n".join(self.text.strip().splitlines()[-lines:])


def parse_instrument_output(text: str) -> InstrumentOutput:
    out = InstrumentOutput(text=text)
    target, key = None, None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line.startswith(STATUS_PREFIX) or line.startswith(RESULT_PREFIX):
            target = out.status if line.startswith(STATUS_PREFIX) else out.result
            body = line.split(": ", 1)[1]
            key, _, value = body.partition("=")
            target[key] = value
        elif line.startswith("INSTRUMENTATION_STATUS_CODE:"):
            target, key = None, None
        elif line.startswith("INSTRUMENTATION_CODE:"):
            target, key = None, None
            try:
                out.code = int(line.split(":", 1)[1].strip())
            except ValueError:
                out.code = None
        elif "INSTRUMENTATION_FAILED:" in line:
            target, key = None, None
            out.failed = line.split("INSTRUMENTATION_FAILED:", 1)[1].strip()
        elif line.startswith("INSTRUMENTATION_ABORTED:"):
            target, key = None, None
            out.aborted = line.split(":", 1)[1].strip()
        elif target is not None and key is not None:
            target[key] += "\n" + line
    return out


def result_from_output(out: InstrumentOutput, serial: str, fmt: str, read_file=None) -> dict:
    """The app's result, or a BenchError saying why there is none. `read_file(path)` fetches
    the result file the app names when the JSON did not fit in the status bundle."""
    text = out.get("result_json")
    if text is None and read_file is not None and out.get("result_file"):
        text = read_file(out.get("result_file").strip())
    if text is not None and text.strip():
        try:
            result = json.loads(text.strip())
        except json.JSONDecodeError as e:
            raise BenchError(f"android {serial}: the app's result is not valid JSON ({e.msg} at column {e.colno}): "
                             f"{text.strip()[:200]!r}") from None
        if not isinstance(result, dict):
            raise BenchError(f"android {serial}: the app's result is not a JSON object: {text.strip()[:200]!r}")
        return result
    short = out.get("shortMsg")
    if out.failed:
        why = out.status.get("Error") or out.get("Error") or "the instrumentation could not start"
        raise BenchError(f"android {serial}: INSTRUMENTATION_FAILED for {out.failed}: {why.strip()}. Is the {fmt} APK "
                         f"installed (`adb -s {serial} shell pm list instrumentation`)? Build it: android_bench/README.md")
    if short and "crash" in short.lower():
        long_msg = (out.get("longMsg") or "").strip()
        raise BenchError(f"android {serial}: process crashed ({short.strip()}{': ' + long_msg[:500] if long_msg else ''}); "
                         f"a native crash in the runtime cannot be caught by the app: see `adb -s {serial} logcat -d`")
    if out.aborted:
        raise BenchError(f"android {serial}: instrumentation aborted: {out.aborted}")
    if out.code is None:
        raise BenchError(f"android {serial}: `am instrument` ended without INSTRUMENTATION_CODE (did the device "
                         f"disconnect?); last output:\n{out.tail()}")
    raise BenchError(f"android {serial}: instrumentation finished (code {out.code}) without a result"
                     f"{' (' + short.strip() + ')' if short else ''}; last output:\n{out.tail()}")
