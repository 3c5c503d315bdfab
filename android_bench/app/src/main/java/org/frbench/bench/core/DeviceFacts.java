package org.frbench.bench.core;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code device} object of the result JSON, built from facts the Android glue collects from
 * {@code android.os.Build}, kept here as plain Java so the emulator test is unit-tested.
 */
public final class DeviceFacts {
  private DeviceFacts() {}

  /**
   * Whether the build facts describe an emulator: {@code ro.kernel.qemu} / {@code ro.boot.qemu}
   * is "1", the hardware is goldfish or ranchu (the Android emulator's virtual boards), or the
   * fingerprint / product is one of the SDK system images ({@code generic}, {@code sdk_gphone},
   * {@code emulator}, {@code vbox86p} for Genymotion).
   */
  public static boolean isEmulator(
      String fingerprint, String hardware, String product, String model, String qemuProperty) {
    if ("1".equals(trim(qemuProperty))) {
      return true;
    }
    String hw = lower(hardware);
    if (hw.equals("goldfish") || hw.equals("ranchu") || hw.contains("vbox86")) {
      return true;
    }
    String fp = lower(fingerprint);
    if (fp.startsWith("generic") || fp.contains("/sdk_gphone") || fp.contains("emulator")
        || fp.contains("vbox86p")) {
      return true;
    }
    String prod = lower(product);
    if (prod.startsWith("sdk_") || prod.equals("sdk") || prod.contains("emulator")
        || prod.contains("vbox86p") || prod.startsWith("sdk_gphone")) {
      return true;
    }
    String m = lower(model);
    return m.contains("android sdk built for") || m.startsWith("sdk_gphone");
  }

  /** The {@code device} object, keys in the documented order. */
  public static Map<String, Object> android(
      String model, String manufacturer, String abi, int sdk, int cores, boolean emulator) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("kind", "android");
    m.put("model", model);
    m.put("manufacturer", manufacturer);
    m.put("abi", abi);
    m.put("sdk", sdk);
    m.put("cores", cores);
    m.put("emulator", emulator);
    return m;
  }

  private static String lower(String s) {
    return s == null ? "" : s.trim().toLowerCase(Locale.ROOT);
  }

  private static String trim(String s) {
    return s == null ? "" : s.trim();
  }
}
