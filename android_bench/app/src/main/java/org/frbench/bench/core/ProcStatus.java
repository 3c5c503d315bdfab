package org.frbench.bench.core;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The memory lines of a Linux {@code /proc/<pid>/status} file, e.g.
 *
 * <pre>
 * VmHWM:	   52344 kB
 * VmRSS:	   50212 kB
 * </pre>
 *
 * <p>{@link #parse} takes the text, so it is tested with a string; {@link #readSelf} reads {@code
 * /proc/self/status}.
 */
public final class ProcStatus {
  /** The file this process's status is read from. */
  public static final String SELF = "/proc/self/status";

  private final Map<String, Long> kb;

  private ProcStatus(Map<String, Long> kb) {
    this.kb = kb;
  }

  /**
   * Parses every {@code Name: <number> kB} line; other lines are ignored. A malformed value is
   * skipped, not fatal: memory figures are best effort.
   */
  public static ProcStatus parse(String text) {
    Map<String, Long> kb = new LinkedHashMap<String, Long>();
    if (text != null) {
      for (String line : text.split("\n")) {
        int colon = line.indexOf(':');
        if (colon <= 0) {
          continue;
        }
        String name = line.substring(0, colon).trim();
        String rest = line.substring(colon + 1).trim();
        if (!rest.endsWith("kB")) {
          continue;
        }
        String number = rest.substring(0, rest.length() - 2).trim();
        try {
          kb.put(name, Long.parseLong(number));
        } catch (NumberFormatException e) {
          // not a memory line after all
        }
      }
    }
    return new ProcStatus(kb);
  }

  /** Reads and parses {@code /proc/self/status}. */
  public static ProcStatus readSelf() throws IOException {
    return parse(readFile(new File(SELF)));
  }

  /** Any {@code kB} field by name ({@code "VmRSS"}, {@code "VmHWM"}, ...), or null. */
  public Long kb(String name) {
    return kb.get(name);
  }

  /** Current resident set size, kB, or null when the line is missing. */
  public Long vmRss() {
    return kb.get("VmRSS");
  }

  /** Peak resident set size ("high water mark"), kB, or null when the line is missing. */
  public Long vmHwm() {
    return kb.get("VmHWM");
  }

  /** A probe that reads {@code /proc/self/status} and gives no PSS (plain Java, host tests). */
  public static MemoryProbe selfProbe() {
    return new MemoryProbe() {
      @Override
      public Sample sample() {
        try {
          ProcStatus s = readSelf();
          return new Sample(s.vmRss(), s.vmHwm(), null);
        } catch (IOException | RuntimeException e) {
          return new Sample(null, null, null);
        }
      }
    };
  }

  static String readFile(File f) throws IOException {
    // /proc files report length 0: read until EOF instead of trusting File.length().
    InputStream in = new FileInputStream(f);
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
      byte[] buf = new byte[4096];
      int r;
      while ((r = in.read(buf)) != -1) {
        out.write(buf, 0, r);
      }
      return new String(out.toByteArray(), "UTF-8");
    } finally {
      in.close();
    }
  }
}
