package org.frbench.bench.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
  @Test
  public void escapesQuotesBackslashesAndControlCharacters() {
    assertEquals("\"a\\\"b\\\\c\"", Json.write("a\"b\\c"));
    assertEquals("\"l1\\nl2\\r\\t\\b\\f\"", Json.write("l1\nl2\r\t\b\f"));
    assertEquals("\"\\u0001\\u001f\"", Json.write("\u0001\u001f"));
    assertEquals("\"\\u007f\"", Json.write("\u007f"));
  }

  @Test
  public void nonAsciiBecomesUnicodeEscapes() {
    assertEquals("\"caf\\u00e9\"", Json.write("caf\u00e9"));
    // U+1F600 is a surrogate pair in UTF-16
    assertEquals("\"\\ud83d\\ude00\"", Json.write(new String(Character.toChars(0x1F600))));
  }

  @Test
  public void nanAndInfinityAreNull() {
    assertEquals("null", Json.write(Double.NaN));
    assertEquals("null", Json.write(Double.POSITIVE_INFINITY));
    assertEquals("null", Json.write(Double.NEGATIVE_INFINITY));
    assertEquals("null", Json.write(Float.NaN));
    assertEquals("[1.5,null,null]", Json.write(new double[] {1.5, Double.NaN, Double.NEGATIVE_INFINITY}));
    List<Object> l = new ArrayList<Object>();
    l.add(Double.NaN);
    l.add(null);
    assertEquals("[null,null]", Json.write(l));
  }

  @Test
  public void numbers() {
    assertEquals("3", Json.write(3));
    assertEquals("3", Json.write(3L));
    assertEquals("3.0", Json.write(3.0));
    assertEquals("-2.5", Json.write(-2.5));
    assertEquals("10000000.0", Json.write(1e7));
    assertEquals("[1,2]", Json.write(new long[] {1, 2}));
    assertEquals("[1,2]", Json.write(new int[] {1, 2}));
  }

  @Test
  public void doublesRoundTrip() {
    double[] xs = {0.1, 1.0 / 3, 1e-300, 123456.789e10, 2.0000000000000004, 5e-324, 1.7976931348623157e308};
    for (double x : xs) {
      String s = Json.write(x);
      assertEquals(s, x, Double.parseDouble(s), 0);
    }
  }

  @Test
  public void mapsKeepTheirOrderAndNest() {
    Map<String, Object> inner = new LinkedHashMap<String, Object>();
    inner.put("b", true);
    inner.put("a", null);
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("z", 1);
    m.put("y", inner);
    m.put("x", Arrays.asList("s", 2.5));
    assertEquals("{\"z\":1,\"y\":{\"b\":true,\"a\":null},\"x\":[\"s\",2.5]}", Json.write(m));
  }

  @Test
  public void outputIsOneLine() {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("error", "load: failed\nat line 2\r\n\tindented\u2028");
    m.put("multi\nline key", "v");
    String s = Json.write(m);
    assertFalse(s.contains("\n"));
    assertFalse(s.contains("\r"));
    assertFalse(s.contains("\u2028"));
    for (int i = 0; i < s.length(); i++) {
      assertTrue("non-ASCII at " + i, s.charAt(i) >= 0x20 && s.charAt(i) < 0x7f);
    }
  }

  @Test(expected = IllegalArgumentException.class)
  public void unknownTypesAreRefused() {
    Json.write(new Object());
  }
}
