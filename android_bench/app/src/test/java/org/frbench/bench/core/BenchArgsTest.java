package org.frbench.bench.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.Test;

public class BenchArgsTest {
  private static Map<String, String> valid() {
    Map<String, String> m = new LinkedHashMap<String, String>();
    m.put("model", "/data/local/tmp/frbench/M.ptl");
    m.put("threads", "4");
    m.put("warmup", "10");
    m.put("iters", "50");
    // the time bounds as frbench.bench.android passes them (str() of the plan's numbers)
    m.put("warmup_s", "10.0");
    m.put("min_iters", "3");
    m.put("max_s", "30.0");
    m.put("dice_s", "600.0");
    m.put("images", "/data/local/tmp/frbench/test_images.bin");
    m.put("masks", "/data/local/tmp/frbench/test_masks.bin");
    m.put("shape", "8,3,64,64");
    m.put("out", "/data/local/tmp/frbench/result.json");
    return m;
  }

  /** Parses {@code args} expecting failure; returns the message. */
  private static String error(Map<String, String> args) {
    try {
      BenchArgs.parse(args);
    } catch (IllegalArgumentException e) {
      return e.getMessage();
    }
    fail("expected an IllegalArgumentException");
    return null;
  }

  @Test
  public void parsesTheFullCommand() {
    BenchArgs a = BenchArgs.parse(valid());
    assertEquals("/data/local/tmp/frbench/M.ptl", a.model);
    assertEquals(4, a.threads);
    assertEquals(10, a.warmup);
    assertEquals(50, a.iters);
    assertArrayEquals(new int[] {8, 3, 64, 64}, a.shape);
    assertEquals("/data/local/tmp/frbench/test_images.bin", a.images);
    assertEquals("/data/local/tmp/frbench/test_masks.bin", a.masks);
    assertEquals("/data/local/tmp/frbench/result.json", a.out);
    assertEquals("ptl", a.modelExtension());
    assertNull(a.weights);
  }

  @Test
  public void weightsAreOptional() {
    Map<String, String> m = valid();
    m.put("weights", " /data/local/tmp/frbench/weights.bin ");
    assertEquals("/data/local/tmp/frbench/weights.bin", BenchArgs.parse(m).weights);
    m.put("weights", "  ");
    assertNull(BenchArgs.parse(m).weights);
  }

  @Test
  public void weightsMustNotBeTheModelItself() {
    Map<String, String> m = valid();
    m.put("weights", m.get("model"));
    assertTrue(error(m).startsWith("weights: is the model file itself"));
  }

  @Test
  public void defaults() {
    Map<String, String> m = new LinkedHashMap<String, String>();
    m.put("model", "m.PTE");
    m.put("shape", " 1, 3, 8, 8 ");
    BenchArgs a = BenchArgs.parse(m);
    assertEquals(BenchArgs.DEFAULT_THREADS, a.threads);
    assertEquals(BenchArgs.DEFAULT_WARMUP, a.warmup);
    assertEquals(BenchArgs.DEFAULT_ITERS, a.iters);
    // frbench's Plan's (tests/test_android_java.py compares them with frbench/bench/plan.py)
    assertEquals(BenchArgs.DEFAULT_WARMUP_S, a.warmupS, 0);
    assertEquals(BenchArgs.DEFAULT_MIN_ITERS, a.minIters);
    assertEquals(BenchArgs.DEFAULT_MAX_S, a.maxS, 0);
    assertEquals(BenchArgs.DEFAULT_DICE_S, a.diceS, 0);
    assertNull(a.images);
    assertNull(a.masks);
    assertNull(a.out);
    assertEquals("pte", a.modelExtension());
    assertArrayEquals(new int[] {1, 3, 8, 8}, a.shape);
  }

  @Test
  public void missingModel() {
    Map<String, String> m = valid();
    m.remove("model");
    assertTrue(error(m).startsWith("model: missing"));
    m.put("model", "  ");
    assertTrue(error(m).startsWith("model: missing"));
    assertTrue(error(null).startsWith("model: missing"));
  }

  @Test
  public void nonIntegerIters() {
    Map<String, String> m = valid();
    m.put("iters", "ten");
    assertEquals("iters: expected an integer >= 1, got 'ten'", error(m));
    m.put("iters", "2.5");
    assertTrue(error(m).startsWith("iters:"));
  }

  @Test
  public void zeroIters() {
    Map<String, String> m = valid();
    m.put("iters", "0");
    assertEquals("iters: expected an integer >= 1, got 0", error(m));
  }

  @Test
  public void negativeWarmup() {
    Map<String, String> m = valid();
    m.put("warmup", "-1");
    assertEquals("warmup: expected an integer >= 0, got -1", error(m));
    m.put("warmup", "0");
    assertEquals(0, BenchArgs.parse(m).warmup);
  }

  @Test
  public void badThreads() {
    Map<String, String> m = valid();
    m.put("threads", "0");
    assertTrue(error(m).startsWith("threads: expected an integer >= 1"));
    m.put("threads", "four");
    assertTrue(error(m).startsWith("threads:"));
  }

  @Test
  public void shapeMustBeFourPositiveIntegers() {
    Map<String, String> m = valid();
    m.put("shape", "3,64,64");
    assertEquals(
        "shape: expected 4 comma-separated integers N,C,H,W, got '3,64,64'", error(m));
    m.put("shape", "8,3,64,x");
    assertTrue(error(m).startsWith("shape: expected 4"));
    m.put("shape", "8,3,64,64,1");
    assertTrue(error(m).startsWith("shape: expected 4"));
    m.put("shape", "0,3,64,64");
    assertTrue(error(m).startsWith("shape: every dimension must be >= 1"));
    m.put("shape", "1,3,100000,100000");
    assertTrue(error(m).startsWith("shape: one image"));
    m.remove("shape");
    assertTrue(error(m).startsWith("shape: missing"));
  }

  @Test
  public void imagesAndMasksComeTogether() {
    Map<String, String> m = valid();
    m.remove("masks");
    assertTrue(error(m).startsWith("masks: missing"));
    m = valid();
    m.remove("images");
    assertTrue(error(m).startsWith("images: missing"));
  }

  @Test
  public void parsesTheTimeBounds() {
    Map<String, String> m = valid();
    m.put("warmup_s", "2.5");
    m.put("min_iters", "3");
    m.put("max_s", "1e-05");
    m.put("dice_s", " 0 ");
    BenchArgs a = BenchArgs.parse(m);
    assertEquals(2.5, a.warmupS, 0);
    assertEquals(3, a.minIters);
    assertEquals(1e-05, a.maxS, 0);
    assertEquals(0.0, a.diceS, 0);
    // as Python's str() writes an int or a float, and inf: no time bound
    m.put("warmup_s", "10");
    m.put("max_s", "inf");
    m.put("dice_s", "Infinity");
    a = BenchArgs.parse(m);
    assertEquals(10.0, a.warmupS, 0);
    assertEquals(Double.POSITIVE_INFINITY, a.maxS, 0);
    assertEquals(Double.POSITIVE_INFINITY, a.diceS, 0);
  }

  @Test
  public void badSecondsNameTheArgument() {
    for (String key : new String[] {"warmup_s", "max_s", "dice_s"}) {
      Map<String, String> m = valid();
      m.put(key, "soon");
      assertEquals(key + ": expected a number of seconds >= 0 (or inf), got 'soon'", error(m));
      m.put(key, "-1");
      assertEquals(key + ": expected a number of seconds >= 0 (or inf), got -1", error(m));
      m.put(key, "-inf");
      assertTrue(error(m).startsWith(key + ": expected a number of seconds >= 0"));
      // what Double.parseDouble would take but Python never writes
      for (String odd : new String[] {"NaN", "1d", "2f", "0x1p3", "1,5"}) {
        m.put(key, odd);
        assertEquals(
            key + ": expected a number of seconds >= 0 (or inf), got '" + odd + "'", error(m));
      }
    }
  }

  @Test
  public void badMinIters() {
    Map<String, String> m = valid();
    m.put("min_iters", "0");
    assertEquals("min_iters: expected an integer >= 1, got 0", error(m));
    m.put("min_iters", "5.0");
    assertEquals("min_iters: expected an integer >= 1, got '5.0'", error(m));
  }

  @Test
  public void theTimedMinimumIsAtMostIters() {
    Map<String, String> m = valid();
    m.put("min_iters", "7");
    m.put("iters", "3");
    assertEquals(3, BenchArgs.parse(m).timedMinimum());
    m.put("iters", "50");
    assertEquals(7, BenchArgs.parse(m).timedMinimum());
  }

  @Test
  public void planRecordsTheAppliedThreadsAndTheBounds() {
    BenchArgs a = BenchArgs.parse(valid());
    assertEquals(
        "{warmup=10, warmup_s=10.0, iters=50, min_iters=3, max_s=30.0, threads=4, dice_s=600.0}",
        a.plan(4).toString());
    assertEquals(
        "{warmup=10, warmup_s=10.0, iters=50, min_iters=3, max_s=30.0, threads=null,"
            + " dice_s=600.0}",
        a.plan(null).toString());
    Map<String, String> m = valid();
    m.put("max_s", "inf");
    // JSON has no infinity: an unbounded phase is written as null
    assertTrue(Json.write(BenchArgs.parse(m).plan(4)).contains("\"max_s\":null"));
  }

  @Test
  public void extensionOfAPathWithoutOne() {
    Map<String, String> m = valid();
    m.put("model", "/data/local/tmp/frbench.d/model");
    assertEquals("", BenchArgs.parse(m).modelExtension());
  }
}
