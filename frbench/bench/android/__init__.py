"""The Android runner (`runner.AndroidRunner`, registered as "android"), in modules under 300 lines:
`app` (package, instrumentation and APK names), `instrument` (`am instrument` output and the
app's result in it), `facts` (a device's getprop facts), `runner` (the protocol over adb)."""

from .app import APP_PACKAGE, INSTRUMENTATION_CLASS, REMOTE_DIR, component_for, find_apk, package_for, sh
from .facts import facts_from, parse_cpu_list, parse_getprop
from .instrument import InstrumentOutput, parse_instrument_output, result_from_output
from .runner import BOOT_TIMEOUT_S, INSTRUMENT_MARGIN_S, AndroidRunner

__all__ = ["APP_PACKAGE", "BOOT_TIMEOUT_S", "INSTRUMENTATION_CLASS", "INSTRUMENT_MARGIN_S", "REMOTE_DIR",
           "AndroidRunner", "InstrumentOutput", "component_for", "facts_from", "find_apk", "package_for",
           "parse_cpu_list", "parse_getprop", "parse_instrument_output", "result_from_output", "sh"]
