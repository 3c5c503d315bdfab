package org.frbench.bench.core;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The benchmark's settings, parsed from the {@code am instrument -e KEY VALUE} arguments.
 *
 * <table>
 *   <caption>Arguments</caption>
 *   <tr><th>key</th><th>meaning</th><th>default</th></tr>
 *   <tr><td>model</td><td>path of the .ptl / .pte file on the device</td><td>required</td></tr>
 *   <tr><td>weights</td><td>path of the weights file that the model (then a program) loads; see
 *       {@link ModelRunner#load}</td><td>none: the model file is the whole model</td></tr>
 *   <tr><td>shape</td><td>"N,C,H,W" of the test images (N images, C=3 for RGB)</td><td>required</td></tr>
 *   <tr><td>threads</td><td>intra-op threads, &gt;= 1</td><td>4</td></tr>
 *   <tr><td>warmup</td><td>at most this many discarded runs before the timed ones, &gt;= 0</td>
 *       <td>10</td></tr>
 *   <tr><td>warmup_s</td><td>no warm-up run that would end past this many seconds of them,
 *       &gt;= 0 ({@code inf}: no bound)</td><td>10</td></tr>
 *   <tr><td>iters</td><td>at most this many timed runs, &gt;= 1</td><td>50</td></tr>
 *   <tr><td>min_iters</td><td>at least this many timed runs (or {@code iters}, if fewer),
 *       whatever {@code max_s} says, &gt;= 1</td><td>3</td></tr>
 *   <tr><td>max_s</td><td>past {@code min_iters}, no timed run that would end past this many
 *       seconds of them, &gt;= 0 ({@code inf}: no bound)</td><td>30</td></tr>
 *   <tr><td>dice_s</td><td>past the first test image, none whose scoring would end past this
 *       many seconds of the Dice pass, &gt;= 0 ({@code inf}: no bound)</td><td>600</td></tr>
 *   <tr><td>images</td><td>float32 LE NCHW file (RGB/255); with masks</td><td>none: zeros input, no Dice</td></tr>
 *   <tr><td>masks</td><td>uint8 (N,H,W) file of 0/1; with images</td><td>none</td></tr>
 *   <tr><td>out</td><td>where to also write the result JSON</td><td>none</td></tr>
 * </table>
 *
 * <p>Validation fails with an {@link IllegalArgumentException} whose message starts with the
 * argument's name, e.g. {@code "iters: expected an integer >= 1, got 'ten'"}. Whether the files
 * match {@code shape} is checked when they are opened ({@link TestData#open}).
 *
 * <p>The count and time bounds are those of frbench's benchmark plan ({@code
 * frbench/bench/plan.py}, whose defaults these are), like TFLite's benchmark_model ({@code
 * num_runs} beside {@code min_secs}/{@code max_secs}): {@link Benchmark} applies them. Seconds are
 * decimal numbers as Python writes a float ({@code 10}, {@code 2.5}, {@code 1e-05}), or {@code
 * inf}.
 */
public final class BenchArgs {
  public static final int DEFAULT_THREADS = 4;
  public static final int DEFAULT_WARMUP = 10;
  public static final int DEFAULT_ITERS = 50;
  public static final double DEFAULT_WARMUP_S = 10.0;
  public static final int DEFAULT_MIN_ITERS = 3;
  public static final double DEFAULT_MAX_S = 30.0;
  public static final double DEFAULT_DICE_S = 600.0;

  /** A decimal number, optionally signed, with an optional exponent (no hex, no d/f suffix). */
  private static final Pattern DECIMAL =
      Pattern.compile("[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?");

  /** Infinity as Python ({@code inf}) or Java ({@code Infinity}) writes it, optionally signed. */
  private static final Pattern INFINITY =
      Pattern.compile("([+-]?)(?:inf|infinity)", Pattern.CASE_INSENSITIVE);

  public final String model;
  /**
   * Null when the model file is the whole model; else the weights file of a "program plus
   * weights" model (the weights-only update a phone downloads), loaded right after the program.
   */
  public final String weights;
  public final int threads;
  /** At most this many warm-up runs. */
  public final int warmup;
  /** No warm-up run that would end past this many seconds of them (may be infinite). */
  public final double warmupS;
  /** At most this many timed runs. */
  public final int iters;
  /** At least {@code min(minIters, iters)} timed runs, whatever {@link #maxS} says. */
  public final int minIters;
  /** Past the minimum, no timed run that would end past this many seconds (may be infinite). */
  public final double maxS;
  /** Past one image, none whose scoring would end past this many seconds (may be infinite). */
  public final double diceS;
  /** N, C, H, W. */
  public final int[] shape;
  /** Null when no test data was given. */
  public final String images;
  /** Null when no test data was given. */
  public final String masks;
  /** Null when no output file was asked for. */
  public final String out;

  private BenchArgs(
      String model,
      String weights,
      int threads,
      int warmup,
      double warmupS,
      int iters,
      int minIters,
      double maxS,
      double diceS,
      int[] shape,
      String images,
      String masks,
      String out) {
    this.model = model;
    this.weights = weights;
    this.threads = threads;
    this.warmup = warmup;
    this.warmupS = warmupS;
    this.iters = iters;
    this.minIters = minIters;
    this.maxS = maxS;
    this.diceS = diceS;
    this.shape = shape;
    this.images = images;
    this.masks = masks;
    this.out = out;
  }

  /** Parses and validates; the exception's message names the offending argument. */
  public static BenchArgs parse(Map<String, String> args) {
    if (args == null) {
      args = new LinkedHashMap<String, String>();
    }
    String model = text(args, "model");
    if (model == null) {
      throw new IllegalArgumentException(
          "model: missing; pass -e model /data/local/tmp/frbench/<name>.ptl|.pte");
    }
    String weights = text(args, "weights");
    if (weights != null && weights.equals(model)) {
      throw new IllegalArgumentException(
          "weights: is the model file itself (" + weights + "); pass the program as model and"
              + " its weights file as weights, or leave weights out for a whole model");
    }
    int threads = integer(args, "threads", DEFAULT_THREADS, 1);
    int warmup = integer(args, "warmup", DEFAULT_WARMUP, 0);
    double warmupS = seconds(args, "warmup_s", DEFAULT_WARMUP_S);
    int iters = integer(args, "iters", DEFAULT_ITERS, 1);
    int minIters = integer(args, "min_iters", DEFAULT_MIN_ITERS, 1);
    double maxS = seconds(args, "max_s", DEFAULT_MAX_S);
    double diceS = seconds(args, "dice_s", DEFAULT_DICE_S);
    String shapeText = text(args, "shape");
    if (shapeText == null) {
      throw new IllegalArgumentException("shape: missing; pass -e shape N,3,H,W");
    }
    int[] shape = parseShape(shapeText);
    String images = text(args, "images");
    String masks = text(args, "masks");
    if (images == null && masks != null) {
      throw new IllegalArgumentException("images: missing; masks was given, images must be too");
    }
    if (masks == null && images != null) {
      throw new IllegalArgumentException("masks: missing; images was given, masks must be too");
    }
    String out = text(args, "out");
    return new BenchArgs(
        model,
        weights,
        threads,
        warmup,
        warmupS,
        iters,
        minIters,
        maxS,
        diceS,
        shape,
        images,
        masks,
        out);
  }

  /** "N,C,H,W" with four positive integers. */
  public static int[] parseShape(String text) {
    String[] parts = text.split(",", -1);
    if (parts.length != 4) {
      throw new IllegalArgumentException(
          "shape: expected 4 comma-separated integers N,C,H,W, got '" + text + "'");
    }
    int[] shape = new int[4];
    for (int i = 0; i < 4; i++) {
      String p = parts[i].trim();
      try {
        shape[i] = Integer.parseInt(p);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "shape: expected 4 comma-separated integers N,C,H,W, got '" + text + "'");
      }
      if (shape[i] < 1) {
        throw new IllegalArgumentException(
            "shape: every dimension must be >= 1, got '" + text + "'");
      }
    }
    long perImage = (long) shape[1] * shape[2] * shape[3];
    if (perImage > Integer.MAX_VALUE / 4) {
      throw new IllegalArgumentException(
          "shape: one image of '" + text + "' is too large for a Java array");
    }
    return shape;
  }

  /** The model file's extension, lower case ("ptl", "pte"), or "" when it has none. */
  public String modelExtension() {
    String name = model.substring(model.lastIndexOf('/') + 1);
    int dot = name.lastIndexOf('.');
    return dot < 0 ? "" : name.substring(dot + 1).toLowerCase(java.util.Locale.ROOT);
  }

  /** The timed runs that always run, whatever {@link #maxS} says: {@code min(minIters, iters)}. */
  public int timedMinimum() {
    return Math.min(minIters, iters);
  }

  /**
   * The {@code plan} object of the result JSON, its keys in the order of frbench's {@code Plan}
   * ({@code warmup, warmup_s, iters, min_iters, max_s, threads, dice_s}); an infinite bound is
   * written as null (JSON has no infinity).
   */
  public Map<String, Object> plan(Integer appliedThreads) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("warmup", warmup);
    m.put("warmup_s", warmupS);
    m.put("iters", iters);
    m.put("min_iters", minIters);
    m.put("max_s", maxS);
    m.put("threads", appliedThreads);
    m.put("dice_s", diceS);
    return m;
  }

  private static String text(Map<String, String> args, String key) {
    String v = args.get(key);
    if (v == null) {
      return null;
    }
    v = v.trim();
    return v.isEmpty() ? null : v;
  }

  /**
   * Seconds &gt;= 0: a decimal number or {@code inf} (no bound). NaN, hexadecimal and Java's
   * {@code d}/{@code f} suffixes are refused, so that only what frbench's plan can mean passes.
   */
  private static double seconds(Map<String, String> args, String key, double dflt) {
    String v = text(args, key);
    if (v == null) {
      return dflt;
    }
    double x;
    Matcher inf = INFINITY.matcher(v);
    if (inf.matches()) {
      x = inf.group(1).equals("-") ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    } else if (DECIMAL.matcher(v).matches()) {
      x = Double.parseDouble(v);
    } else {
      throw new IllegalArgumentException(
          key + ": expected a number of seconds >= 0 (or inf), got '" + v + "'");
    }
    if (x < 0) {
      throw new IllegalArgumentException(
          key + ": expected a number of seconds >= 0 (or inf), got " + v);
    }
    return x;
  }

  private static int integer(Map<String, String> args, String key, int dflt, int min) {
    String v = text(args, key);
    if (v == null) {
      return dflt;
    }
    int x;
    try {
      x = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          key + ": expected an integer >= " + min + ", got '" + v + "'");
    }
    if (x < min) {
      throw new IllegalArgumentException(
          key + ": expected an integer >= " + min + ", got " + x);
    }
    return x;
  }
}
