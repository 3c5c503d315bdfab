package org.frbench.bench.core;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark protocol (DESIGN.md, "The benchmark protocol"), run against a {@link ModelRunner},
 * a {@link Clock} and a {@link MemoryProbe}, so that it is unit-tested with fakes and runs
 * unchanged inside the Android app.
 *
 * <ol>
 *   <li>parse and check the arguments; open the test data and read image 0 (the latency input);
 *   <li>fix the threads; sample memory (before load);
 *   <li>time {@code load} alone (the program and, when given, its weights file): {@code
 *       load_ms}; sample memory (after load);
 *   <li>time the first inference alone: {@code first_inference_ms};
 *   <li>warm-up runs, each timed, discarded from the statistics but kept as {@code warmups}: at
 *       most {@code warmup}, and none that would end past {@code warmup_s} seconds of them;
 *   <li>timed runs, each timed alone with the monotonic clock: {@code values}: at most {@code
 *       iters}, at least {@code min(min_iters, iters)}, and past those none that would end past
 *       {@code max_s} seconds of them; sample memory (after runs, with the peak RSS, VmHWM);
 *   <li>statistics derived from {@code values} ({@link Stats});
 *   <li>accuracy: a separate, untimed pass over the test images: per-image and mean Dice over
 *       the images scored: every image, but past the first none whose scoring would end past
 *       {@code dice_s} seconds of the pass;
 *   <li>{@code ran}: how many runs and images each phase had, and what stopped it ({@code
 *       "count"} or {@code "time"}).
 * </ol>
 *
 * <p>The bounds are those of frbench's host worker ({@code bounded} in {@code
 * frbench/bench/worker.py}), see {@link #bounded}: before each run, once the phase has had its
 * minimum, it stops if the run would end past its time, the run's length guessed as the mean of
 * the phase's runs so far; before its first run, as the first inference's length (warm-up), the
 * warm-up runs' mean (timed runs; the first inference's without warm-up runs) or the timed runs'
 * median (Dice pass). Time is read from the same {@link Clock} as the measurements, so tests
 * drive the bounds with a fake one.
 *
 * <p>{@link #run} never throws: a failure at any step (bad argument, unreadable file, model that
 * does not load, runtime exception, {@link OutOfMemoryError}) gives a result whose {@code error}
 * says which step failed and why, with every measurement field null. The descriptive fields
 * (model, plan, runtime, device, metadata) stay filled where they are known, so the failed row
 * still says what was attempted.
 */
public final class Benchmark {
  /** Version of the result format; bump it when a key changes, and say how in the README. */
  public static final int FORMAT = 1;

  /**
   * The keys of every result JSON, in order: the Python host runner writes the same ones. A
   * successful result adds {@link #RAN} after them.
   */
  public static final List<String> KEYS =
      java.util.Collections.unmodifiableList(
          Arrays.asList(
              "format",
              "unit",
              "error",
              "runner",
              "model",
              "plan",
              "load_ms",
              "first_inference_ms",
              "warmups",
              "values",
              "stats",
              "memory",
              "accuracy",
              "runtime",
              "device",
              "metadata"));

  /**
   * The key a successful result adds after {@link #KEYS}, as the host runner does: what the plan's
   * bounds let run ({@link #RAN_KEYS}). An error result has none (nor has the host's: the result
   * schema's {@code ran} is an object, never null).
   */
  public static final String RAN = "ran";

  /** The keys of {@code ran}, in order, as the host runner writes them. */
  public static final List<String> RAN_KEYS =
      java.util.Collections.unmodifiableList(
          Arrays.asList(
              "warmups",
              "warmups_stopped_by",
              "iters",
              "iters_stopped_by",
              "dice_images",
              "dice_stopped_by"));

  /** What stopped a phase: its count was reached (or it had nothing to run). */
  public static final String BY_COUNT = "count";

  /** What stopped a phase: past its minimum, its next run would have ended past its seconds. */
  public static final String BY_TIME = "time";

  private static final List<String> MEASUREMENTS =
      Arrays.asList(
          "load_ms",
          "first_inference_ms",
          "warmups",
          "values",
          "stats",
          "memory",
          "accuracy");

  private final ModelRunner runner;
  private final Clock clock;
  private final MemoryProbe memory;
  private final Map<String, Object> device;
  private final Map<String, Object> metadata;

  /**
   * @param device the {@code device} object ({@link DeviceFacts#android}), or null if unknown
   * @param metadata the {@code metadata} object: {@code date} (ISO-8601 UTC) and {@code
   *     app_version}
   */
  public Benchmark(
      ModelRunner runner,
      Clock clock,
      MemoryProbe memory,
      Map<String, Object> device,
      Map<String, Object> metadata) {
    this.runner = runner;
    this.clock = clock;
    this.memory = memory;
    this.device = device;
    this.metadata = metadata;
  }

  /** The {@code metadata} object. */
  public static Map<String, Object> metadata(String isoDateUtc, String appVersion) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("date", isoDateUtc);
    m.put("app_version", appVersion);
    return m;
  }

  /** ISO-8601 UTC to the second, e.g. {@code 2025-01-31T12:00:00Z}, for {@code metadata.date}. */
  public static String isoDateUtc(long epochMillis) {
    return java.time.Instant.ofEpochMilli(epochMillis)
        .truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
        .toString();
  }

  /** Runs the protocol with the {@code am instrument} arguments; never throws. */
  public Map<String, Object> run(Map<String, String> rawArgs) {
    Map<String, Object> r = skeleton();
    String stage = "args";
    TestData data = null;
    try {
      Map<String, String> given = rawArgs != null ? rawArgs : new LinkedHashMap<String, String>();
      r.put("model", modelInfo(given.get("model"), null, given.get("weights")));
      BenchArgs args = BenchArgs.parse(rawArgs);
      r.put("model", modelInfo(args.model, formatOf(args), args.weights));
      r.put("plan", args.plan(args.threads));
      checkModelFile(args);

      stage = "data";
      int[] s = args.shape;
      long[] inputShape = new long[] {1, s[1], s[2], s[3]};
      float[] input;
      if (args.images != null) {
        data = TestData.open(new File(args.images), new File(args.masks), s);
        input = data.image(0);
      } else {
        input = new float[s[1] * s[2] * s[3]];
      }

      stage = "threads";
      boolean applied = runner.setThreads(args.threads);
      r.put("plan", args.plan(applied ? Integer.valueOf(args.threads) : null));

      MemoryProbe.Sample beforeLoad = sample();

      stage = "load";
      long t0 = clock.nanoTime();
      runner.load(args.model, args.weights);
      long t1 = clock.nanoTime();
      r.put("load_ms", ms(t0, t1));
      MemoryProbe.Sample afterLoad = sample();

      stage = "first_inference";
      t0 = clock.nanoTime();
      Logits first = runner.forward(input, inputShape);
      t1 = clock.nanoTime();
      if (first == null) {
        throw new IllegalStateException("the model returned no output");
      }
      r.put("first_inference_ms", ms(t0, t1));
      // the first call's length (an FR model's unpack included): the first warm-up run's guess
      double guessS = (t1 - t0) / 1e9;

      stage = "warmup";
      Phase warmups = timeRuns(args.warmup, args.warmupS, 0, guessS, input, inputShape);
      r.put("warmups", warmups.values);
      if (warmups.values.length > 0) {
        guessS = Stats.mean(warmups.values, 0, warmups.values.length) / 1e3;
      }

      stage = "timed";
      Phase timed =
          timeRuns(args.iters, args.maxS, args.timedMinimum(), guessS, input, inputShape);
      double[] values = timed.values;
      r.put("values", values);
      MemoryProbe.Sample afterRuns = sample();

      stage = "stats";
      Stats stats = Stats.of(values);
      r.put("stats", stats.toMap());
      r.put("memory", memoryMap(beforeLoad, afterLoad, afterRuns));

      stage = "accuracy";
      Phase dice = Phase.none();
      if (data != null) {
        dice = dicePass(data, args.diceS, stats.p50 / 1e3);
        r.put("accuracy", accuracy(dice.values));
      }
      r.put("profile", profileOf(runner));
      r.put(RAN, ran(warmups, timed, dice));
    } catch (Throwable t) {
      fail(r, stage, t);
    } finally {
      try {
        runner.close();
      } catch (Throwable ignored) {
        // the result is already decided
      }
      if (data != null) {
        try {
          data.close();
        } catch (Throwable ignored) {
          // read-only files
        }
      }
    }
    return r;
  }

  /** The runner's profile, or why there is none ({@code available} false); never throws. */
  static Map<String, Object> profileOf(ModelRunner runner) {
    Map<String, Object> p = new LinkedHashMap<String, Object>();
    try {
      Map<String, Object> own = runner.profile();
      if (own != null) {
        return own;
      }
      p.put("available", Boolean.FALSE);
      p.put("reason", runner.runtimeName() + ": the app reads no per-operator profile from this runtime");
    } catch (Throwable t) {
      p.put("available", Boolean.FALSE);
      p.put("reason", "profile: " + t.getClass().getSimpleName() + ": " + t.getMessage());
    }
    return p;
  }

  /** Runs the protocol and returns the single-line JSON. */
  public String runJson(Map<String, String> rawArgs) {
    return Json.write(run(rawArgs));
  }

  /**
   * A result that only says what failed: for failures outside {@link #run} (the glue itself).
   * Every measurement is null.
   */
  public static Map<String, Object> errorResult(
      String error,
      String modelPath,
      Map<String, Object> runtime,
      Map<String, Object> device,
      Map<String, Object> metadata) {
    Map<String, Object> r = new LinkedHashMap<String, Object>();
    for (String k : KEYS) {
      r.put(k, null);
    }
    r.put("format", FORMAT);
    r.put("unit", "ms");
    r.put("error", error);
    r.put("runner", "android");
    r.put("model", modelInfo(modelPath, null, null));
    r.put("runtime", runtime);
    r.put("device", device);
    r.put("metadata", metadata);
    return r;
  }

  /** The {@code runtime} object. */
  public static Map<String, Object> runtime(String name, String version) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("name", name);
    m.put("version", version);
    return m;
  }

  /**
   * Writes {@code text} to {@code target} atomically: a temporary file beside it, then a rename,
   * so the runner never pulls a half-written result.
   */
  public static void writeAtomically(String text, File target) throws IOException {
    File dir = target.getAbsoluteFile().getParentFile();
    if (dir != null && !dir.isDirectory() && !dir.mkdirs()) {
      throw new IOException("cannot create directory " + dir);
    }
    File tmp = new File(dir, "." + target.getName() + ".tmp");
    OutputStream out = new FileOutputStream(tmp);
    try {
      out.write(text.getBytes("UTF-8"));
      out.write('\n');
    } finally {
      out.close();
    }
    if (!tmp.renameTo(target)) {
      tmp.delete();
      throw new IOException("cannot rename " + tmp + " to " + target);
    }
  }

  private Map<String, Object> skeleton() {
    Map<String, Object> r = new LinkedHashMap<String, Object>();
    for (String k : KEYS) {
      r.put(k, null);
    }
    r.put("format", FORMAT);
    r.put("unit", "ms");
    r.put("runner", "android");
    Map<String, Object> rt;
    try {
      rt = runtime(runner.runtimeName(), runner.runtimeVersion());
    } catch (Throwable t) {
      rt = runtime(null, null);
    }
    r.put("runtime", rt);
    r.put("device", device);
    r.put("metadata", metadata);
    return r;
  }

  /** The model's format: its extension when that is ptl or pte, else the runner's format. */
  private String formatOf(BenchArgs args) {
    String ext = args.modelExtension();
    return ext.equals("ptl") || ext.equals("pte") ? ext : safeFormat();
  }

  /**
   * The {@code model} object: path, format and size in bytes (null when the file is missing),
   * and, only when a weights file was given, {@code weights}: its path and size the same way.
   */
  private static Map<String, Object> modelInfo(String path, String fmt, String weights) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("path", path);
    m.put("fmt", fmt);
    m.put("bytes", fileBytes(path));
    if (weights != null && !weights.trim().isEmpty()) {
      Map<String, Object> w = new LinkedHashMap<String, Object>();
      w.put("path", weights.trim());
      w.put("bytes", fileBytes(weights.trim()));
      m.put("weights", w);
    }
    return m;
  }

  /** The size of the file at {@code path}, or null when there is none. */
  private static Long fileBytes(String path) {
    if (path == null) {
      return null;
    }
    File f = new File(path);
    return f.isFile() ? Long.valueOf(f.length()) : null;
  }

  private String safeFormat() {
    try {
      return runner.format();
    } catch (Throwable t) {
      return null;
    }
  }

  private void checkModelFile(BenchArgs args) {
    String ext = args.modelExtension();
    String mine = runner.format();
    if ((ext.equals("ptl") || ext.equals("pte")) && !ext.equals(mine)) {
      throw new IllegalArgumentException(
          "model: "
              + args.model
              + " is a ."
              + ext
              + " file, but this APK runs ."
              + mine
              + " models (use the frbench "
              + ext
              + " APK)");
    }
    File f = new File(args.model);
    if (!f.isFile()) {
      throw new IllegalArgumentException("model: no such file: " + args.model);
    }
    if (args.weights != null && !new File(args.weights).isFile()) {
      throw new IllegalArgumentException("weights: no such file: " + args.weights);
    }
  }

  /** One step of a bounded phase: run {@code i} (from 0), giving one number. */
  interface Step {
    double run(int i) throws Exception;
  }

  /** What a bounded phase gave: one number per run, and what stopped it. */
  static final class Phase {
    final double[] values;
    final String stoppedBy;

    Phase(double[] values, String stoppedBy) {
      this.values = values;
      this.stoppedBy = stoppedBy;
    }

    /** A phase with nothing to run (no test data: no Dice pass). */
    static Phase none() {
      return new Phase(new double[0], BY_COUNT);
    }
  }

  /**
   * {@code step} for i = 0, 1, ... up to {@code count} times, within {@code budgetS} seconds on
   * {@code clock}: once {@code minimum} steps ran, no step starts that would end past the budget,
   * its length guessed as the mean of the steps so far (the phase's time over their number;
   * before the first, {@code estimateS}). The host worker's {@code bounded}, step for step.
   */
  static Phase bounded(
      Clock clock, int count, double budgetS, int minimum, double estimateS, Step step)
      throws Exception {
    double[] out = new double[count];
    long start = clock.nanoTime();
    int n = 0;
    while (n < count) {
      double elapsedS = (clock.nanoTime() - start) / 1e9;
      double guessS = n > 0 ? elapsedS / n : estimateS;
      if (n >= minimum && elapsedS + guessS > budgetS) {
        return new Phase(Arrays.copyOf(out, n), BY_TIME);
      }
      out[n] = step.run(n);
      n++;
    }
    return new Phase(out, BY_COUNT);
  }

  /** Forward runs of {@code input}, each timed alone (ms), bounded by count and time. */
  private Phase timeRuns(
      int count,
      double budgetS,
      int minimum,
      double estimateS,
      final float[] input,
      final long[] shape)
      throws Exception {
    return bounded(
        clock,
        count,
        budgetS,
        minimum,
        estimateS,
        new Step() {
          @Override
          public double run(int i) throws Exception {
            long t0 = clock.nanoTime();
            runner.forward(input, shape);
            long t1 = clock.nanoTime();
            return ms(t0, t1);
          }
        });
  }

  /**
   * The Dice of each test image in turn, bounded by the image count and by {@code budgetS}
   * seconds (at least one image is scored).
   */
  private Phase dicePass(final TestData data, double budgetS, double estimateS)
      throws Exception {
    final long[] shape = data.inputShape();
    return bounded(
        clock,
        data.count(),
        budgetS,
        1,
        estimateS,
        new Step() {
          @Override
          public double run(int i) throws Exception {
            try {
              Logits y = runner.forward(data.image(i), shape);
              if (y == null) {
                throw new IllegalStateException("the model returned no output");
              }
              byte[] predicted =
                  Dice.foreground(y.data(), y.shape(), data.height(), data.width());
              return Dice.dice(predicted, data.mask(i));
            } catch (Exception e) {
              throw new StageException("image " + i, e);
            }
          }
        });
  }

  /** The {@code accuracy} object: the Dice of the images scored, their mean and count. */
  private static Map<String, Object> accuracy(double[] perImage) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("dice", Dice.mean(perImage));
    m.put("dice_per_image", perImage);
    m.put("images", perImage.length);
    return m;
  }

  /** The {@code ran} object: what each phase ran and what stopped it ({@link #RAN_KEYS}). */
  private static Map<String, Object> ran(Phase warmups, Phase timed, Phase dice) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("warmups", warmups.values.length);
    m.put("warmups_stopped_by", warmups.stoppedBy);
    m.put("iters", timed.values.length);
    m.put("iters_stopped_by", timed.stoppedBy);
    m.put("dice_images", dice.values.length);
    m.put("dice_stopped_by", dice.stoppedBy);
    return m;
  }

  private MemoryProbe.Sample sample() {
    try {
      MemoryProbe.Sample s = memory.sample();
      return s != null ? s : new MemoryProbe.Sample(null, null, null);
    } catch (Throwable t) {
      return new MemoryProbe.Sample(null, null, null);
    }
  }

  private static Map<String, Object> memoryMap(
      MemoryProbe.Sample beforeLoad, MemoryProbe.Sample afterLoad, MemoryProbe.Sample afterRuns) {
    Map<String, Object> m = new LinkedHashMap<String, Object>();
    m.put("unit", "kB");
    m.put("rss_before_load", beforeLoad.rssKb);
    m.put("rss_after_load", afterLoad.rssKb);
    m.put("rss_after_runs", afterRuns.rssKb);
    m.put("peak_rss", afterRuns.peakRssKb);
    m.put("pss_before_load", beforeLoad.pssKb);
    m.put("pss_after_load", afterLoad.pssKb);
    m.put("pss_after_runs", afterRuns.pssKb);
    return m;
  }

  private static double ms(long t0, long t1) {
    return (t1 - t0) / 1e6;
  }

  private static void fail(Map<String, Object> r, String stage, Throwable t) {
    for (String k : MEASUREMENTS) {
      r.put(k, null);
    }
    r.remove(RAN);
    r.put("error", describe(stage, t));
  }

  /**
   * "stage: what", e.g. {@code "load: RuntimeException: open failed"} or, for argument errors
   * whose message already names the argument, {@code "args: iters: expected an integer >= 1"}.
   */
  static String describe(String stage, Throwable t) {
    List<String> where = new ArrayList<String>();
    where.add(stage);
    while (t instanceof StageException && t.getCause() != null) {
      where.add(t.getMessage());
      t = t.getCause();
    }
    StringBuilder sb = new StringBuilder();
    sb.append(where.get(0));
    for (int i = 1; i < where.size(); i++) {
      sb.append(" (").append(where.get(i)).append(')');
    }
    sb.append(": ");
    String msg = t.getMessage();
    if (t instanceof IllegalArgumentException && msg != null) {
      sb.append(msg);
    } else {
      sb.append(t.getClass().getSimpleName());
      if (msg != null && !msg.isEmpty()) {
        sb.append(": ").append(msg);
      }
      Throwable cause = t.getCause();
      if (cause != null && cause != t && cause.getMessage() != null) {
        sb.append(" (caused by ")
            .append(cause.getClass().getSimpleName())
            .append(": ")
            .append(cause.getMessage())
            .append(')');
      }
    }
    String s = sb.toString();
    return s.length() > 2000 ? s.substring(0, 2000) + "..." : s;
  }

  /** Wraps an exception with where in a stage it happened (e.g. which image). */
  static final class StageException extends Exception {
    private static final long serialVersionUID = 1L;

    StageException(String where, Throwable cause) {
      super(where, cause);
    }
  }
}
