package org.frbench.bench;

import android.os.Build;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Method;
import java.util.Map;
import org.frbench.bench.core.DeviceFacts;

/** The {@code device} object of the result, from {@link Build} and system properties. */
final class AndroidDevice {
  private AndroidDevice() {}

  static Map<String, Object> facts() {
    String abi =
        Build.SUPPORTED_ABIS != null && Build.SUPPORTED_ABIS.length > 0
            ? Build.SUPPORTED_ABIS[0]
            : null;
    String qemu = systemProperty("ro.kernel.qemu");
    if (qemu == null || qemu.isEmpty()) {
      qemu = systemProperty("ro.boot.qemu");
    }
    boolean emulator =
        DeviceFacts.isEmulator(Build.FINGERPRINT, Build.HARDWARE, Build.PRODUCT, Build.MODEL, qemu);
    return DeviceFacts.android(
        Build.MODEL,
        Build.MANUFACTURER,
        abi,
        Build.VERSION.SDK_INT,
        Runtime.getRuntime().availableProcessors(),
        emulator);
  }

  /** A system property, or null: android.os.SystemProperties by reflection, else `getprop`. */
  static String systemProperty(String name) {
    try {
      Class<?> c = Class.forName("android.os.SystemProperties");
      Method get = c.getMethod("get", String.class);
      return (String) get.invoke(null, name);
    } catch (Throwable ignored) {
      // hidden API refused: ask the shell tool instead
    }
    Process p = null;
    try {
      p = new ProcessBuilder("getprop", name).redirectErrorStream(true).start();
      BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), "UTF-8"));
      String line = r.readLine();
      r.close();
      return line == null ? null : line.trim();
    } catch (Throwable ignored) {
      return null;
    } finally {
      if (p != null) {
        p.destroy();
      }
    }
  }
}
