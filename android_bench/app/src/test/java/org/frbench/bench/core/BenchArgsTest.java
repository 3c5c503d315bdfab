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
  public void planRecordsTheAppliedThreads() {
    BenchArgs a = BenchArgs.parse(valid());
    assertEquals("{warmup=10, iters=50, threads=4}", a.plan(4).toString());
    assertEquals("{warmup=10, iters=50, threads=null}", a.plan(null).toString());
  }

  @Test
  public void extensionOfAPathWithoutOne() {
    Map<String, String> m = valid();
    m.put("model", "/data/local/tmp/frbench.d/model");
    assertEquals("", BenchArgs.parse(m).modelExtension());
  }
}
