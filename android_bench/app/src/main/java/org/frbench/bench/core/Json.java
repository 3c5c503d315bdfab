package org.frbench.bench.core;

import java.util.Collection;
import java.util.Iterator;
import java.util.Map;

/**
 * A tiny JSON writer (no third-party library), enough for the benchmark result.
 *
 * <p>Accepted values: {@code null}, {@link Boolean}, {@link Number} (integral types are written as
 * integers, the others as doubles), {@link CharSequence}, {@link Map} (keys written with {@code
 * String.valueOf}, in the map's iteration order: use a {@link java.util.LinkedHashMap}), {@link
 * Collection}, {@code double[]}, {@code float[]}, {@code long[]}, {@code int[]}, {@code Object[]}.
 *
 * <p>Guarantees, because the result travels as one line of {@code am instrument} output and is
 * parsed by Python's strict {@code json.loads}:
 *
 * <ul>
 *   <li>the output is a single line: every control character inside strings is escaped;
 *   <li>NaN and the infinities are written as {@code null}, never as {@code NaN}/{@code Infinity};
 *   <li>every non-ASCII character is written as a {@code \\uXXXX} escape (UTF-16 code units, so
 *       characters outside the BMP become a surrogate pair), so the line is pure ASCII;
 *   <li>doubles round-trip: the text parses back to the same double.
 * </ul>
 */
public final class Json {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private Json() {}

  /** Writes {@code value} as one line of JSON. */
  public static String write(Object value) {
    StringBuilder sb = new StringBuilder(256);
    writeValue(sb, value);
    return sb.toString();
  }

  /** The JSON text of one double: {@code null} when it is NaN or infinite. */
  public static String number(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      return "null";
    }
    if (d == Math.rint(d) && Math.abs(d) < 1e15) {
      // Integral values: "3.0" rather than Java's "3.0" is fine already, but keep e.g. 1e7 out of
      // scientific notation so the text reads naturally.
      return Long.toString((long) d) + ".0";
    }
    String s = Double.toString(d);
    // Double.toString round-trips on every JDK; this guard keeps that promise explicit.
    if (Double.parseDouble(s) != d) {
      s = String.format(java.util.Locale.ROOT, "%.17g", d);
    }
    return s;
  }

  /** Appends the JSON string literal of {@code s} (with quotes) to {@code sb}. */
  public static void writeString(StringBuilder sb, CharSequence s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          sb.append("\\\"");
          break;
        case '\\':
          sb.append("\\\\");
          break;
        case '\n':
          sb.append("\\n");
          break;
        case '\r':
          sb.append("\\r");
          break;
        case '\t':
          sb.append("\\t");
          break;
        case '\b':
          sb.append("\\b");
          break;
        case '\f':
          sb.append("\\f");
          break;
        default:
          if (c < 0x20 || c >= 0x7f) {
            sb.append("\\u")
                .append(HEX[(c >> 12) & 0xf])
                .append(HEX[(c >> 8) & 0xf])
                .append(HEX[(c >> 4) & 0xf])
                .append(HEX[c & 0xf]);
          } else {
            sb.append(c);
          }
      }
    }
    sb.append('"');
  }

  private static void writeValue(StringBuilder sb, Object v) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof Boolean) {
      sb.append(((Boolean) v).booleanValue() ? "true" : "false");
    } else if (v instanceof Long
        || v instanceof Integer
        || v instanceof Short
        || v instanceof Byte
        || v instanceof java.math.BigInteger) {
      sb.append(v.toString());
    } else if (v instanceof Number) {
      sb.append(number(((Number) v).doubleValue()));
    } else if (v instanceof CharSequence) {
      writeString(sb, (CharSequence) v);
    } else if (v instanceof Character) {
      writeString(sb, String.valueOf(v));
    } else if (v instanceof Map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeString(sb, String.valueOf(e.getKey()));
        sb.append(':');
        writeValue(sb, e.getValue());
      }
      sb.append('}');
    } else if (v instanceof Collection) {
      sb.append('[');
      Iterator<?> it = ((Collection<?>) v).iterator();
      boolean first = true;
      while (it.hasNext()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        writeValue(sb, it.next());
      }
      sb.append(']');
    } else if (v.getClass().isArray()) {
      // double[], float[], long[], int[], Object[]...: each element boxed and written as above
      sb.append('[');
      for (int i = 0; i < java.lang.reflect.Array.getLength(v); i++) {
        if (i > 0) {
          sb.append(',');
        }
        writeValue(sb, java.lang.reflect.Array.get(v, i));
      }
      sb.append(']');
    } else {
      throw new IllegalArgumentException("Json: cannot write a " + v.getClass().getName());
    }
  }
}
