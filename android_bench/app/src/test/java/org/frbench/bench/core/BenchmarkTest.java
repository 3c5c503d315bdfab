package org.frbench.bench.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

public class BenchmarkTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private Fakes.FakeClock clock;
  private Fakes.FakeRunner runner;
  private Fakes.FakeMemory memory;
  private Map<String, String> args;

  @Before
  public void setUp() throws Exception {
    clock = new Fakes.FakeClock();
    runner = new Fakes.FakeRunner(clock);
    memory = new Fakes.FakeMemory();
    args = Fakes.testFiles(tmp.getRoot(), "model.ptl");
  }

  private Map<String, Object> run() {
    return new Benchmark(runner, clock, memory, Fakes.device(), Fakes.metadata()).run(args);
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> obj(Map<String, Object> r, String key) {
    return (Map<String, Object>) r.get(key);
  }

  private static void assertMeasurementsNull(Map<String, Object> r) {
    for (String k :
        Arrays.asList(
            "load_ms",
            "first_inference_ms",
            "warmups",
            "values",
            "stats",
            "memory",
            "accuracy")) {
      assertNull(k, r.get(k));
    }
    // an error row says nothing of what ran (nor does the host's)
    assertFalse(r.containsKey(Benchmark.RAN));
  }

  /** The keys of a successful result: every result's, then {@code profile} and {@code ran}. */
  private static List<String> successKeys() {
    List<String> keys = new ArrayList<String>(Benchmark.KEYS);
    keys.add("profile");
    keys.add("ran");
    return keys;
  }

  /** The {@code ran} object as a list of its values, in order. */
  private static List<Object> ran(Map<String, Object> r) {
    Map<String, Object> ran = obj(r, "ran");
    assertEquals(Benchmark.RAN_KEYS, new ArrayList<String>(ran.keySet()));
    return new ArrayList<Object>(ran.values());
  }

  @Test
  public void followsTheProtocol() {
    Map<String, Object> r = run();
    assertNull(r.get("error"));
    assertEquals(successKeys(), new ArrayList<String>(r.keySet()));
    assertEquals(1, r.get("format"));
    assertEquals("ms", r.get("unit"));
    assertEquals("android", r.get("runner"));

    // load and first inference are timed separately
    assertEquals(7.0, (Double) r.get("load_ms"), 1e-9);
    assertEquals(3.0, (Double) r.get("first_inference_ms"), 1e-9);
    double[] warmups = (double[]) r.get("warmups");
    double[] values = (double[]) r.get("values");
    assertEquals(4, warmups.length);
    assertEquals(6, values.length);
    for (double v : warmups) {
      assertEquals(1.0, v, 1e-9);
    }
    for (double v : values) {
      assertEquals(1.0, v, 1e-9);
    }
    // 1 first + 4 warmup + 6 timed + 3 accuracy images
    assertEquals(14, runner.forwards);
    // threads fixed before the load, load before the first forward
    assertEquals(
        Arrays.asList("setThreads 2", "load " + args.get("model"), "forward"), runner.calls);
    assertTrue(runner.closed);

    Map<String, Object> plan = obj(r, "plan");
    assertEquals(
        Arrays.asList("warmup", "warmup_s", "iters", "min_iters", "max_s", "threads", "dice_s"),
        new ArrayList<String>(plan.keySet()));
    assertEquals(4, plan.get("warmup"));
    assertEquals(6, plan.get("iters"));
    assertEquals(2, plan.get("threads"));
    // not given: the defaults (frbench's Plan's)
    assertEquals(BenchArgs.DEFAULT_WARMUP_S, plan.get("warmup_s"));
    assertEquals(BenchArgs.DEFAULT_MIN_ITERS, plan.get("min_iters"));
    assertEquals(BenchArgs.DEFAULT_MAX_S, plan.get("max_s"));
    assertEquals(BenchArgs.DEFAULT_DICE_S, plan.get("dice_s"));

    // a fast model: every phase stopped by its count
    assertEquals(Arrays.<Object>asList(4, "count", 6, "count", 3, "count"), ran(r));

    Map<String, Object> model = obj(r, "model");
    assertEquals(args.get("model"), model.get("path"));
    assertEquals("ptl", model.get("fmt"));
    assertEquals(5L, model.get("bytes"));

    Map<String, Object> stats = obj(r, "stats");
    assertEquals(1.0, (Double) stats.get("mean"), 1e-9);
    assertEquals(1.0, (Double) stats.get("p90"), 1e-9);

    Map<String, Object> runtime = obj(r, "runtime");
    assertEquals("fake-runtime", runtime.get("name"));
    assertEquals("0.0.1", runtime.get("version"));
    assertEquals(Fakes.device(), r.get("device"));
    assertEquals(Fakes.metadata(), r.get("metadata"));
  }

  /** A step of {@link Benchmark#bounded} that takes one second on {@code clock}. */
  private static Benchmark.Step oneSecond(final Fakes.FakeClock clock) {
    return new Benchmark.Step() {
      @Override
      public double run(int i) {
        clock.advanceMs(1000);
        return i;
      }
    };
  }

  private static String bounded(int count, double budgetS, int minimum, double estimateS)
      throws Exception {
    Fakes.FakeClock clock = new Fakes.FakeClock();
    Benchmark.Phase p =
        Benchmark.bounded(clock, count, budgetS, minimum, estimateS, oneSecond(clock));
    return Arrays.toString(p.values) + " " + p.stoppedBy;
  }

  /** The cases of tests/test_bench.py's test of the host worker's {@code bounded}. */
  @Test
  public void boundedIsTheHostWorkersBounded() throws Exception {
    assertEquals("[0.0, 1.0, 2.0] time", bounded(10, 3.5, 0, 0)); // a 4th would end at 4.0 s
    assertEquals("[0.0, 1.0, 2.0, 3.0, 4.0] time", bounded(10, 3.5, 5, 0)); // the minimum wins
    assertEquals("[0.0, 1.0] count", bounded(2, 3.5, 0, 0));
    assertEquals("[] time", bounded(10, 0.5, 0, 1.0)); // the first call's length, guessed
    assertEquals("[0.0] time", bounded(10, 0.5, 1, 1.0));
    // a run that would end exactly at the budget still starts
    assertEquals("[0.0, 1.0, 2.0, 3.0] count", bounded(4, 4.0, 0, 1.0));
    assertEquals("[] count", bounded(0, 0, 0, 0));
    assertEquals("[0.0, 1.0, 2.0] count", bounded(3, Double.POSITIVE_INFINITY, 0, 1e300));
  }

  @Test
  public void aSlowModelStopsByTimeWithAtLeastTheMinimum() {
    runner.runMs = 1000; // 1 s a run on the fake clock
    args.put("warmup_s", "2.5");
    args.put("max_s", "2.5");
    args.put("iters", "50");
    args.put("min_iters", "5");
    Map<String, Object> r = run();
    assertNull(r.get("error"));
    // warm-up: a third run would end at 3 s, past 2.5; timed: the same after 2 runs, but
    // min_iters = 5 run all the same
    assertEquals(2, ((double[]) r.get("warmups")).length);
    double[] values = (double[]) r.get("values");
    assertEquals(5, values.length);
    for (double v : values) {
      assertEquals(1000.0, v, 1e-9);
    }
    assertEquals(1000.0, (Double) obj(r, "stats").get("p50"), 1e-9);
    assertEquals(Arrays.<Object>asList(2, "time", 5, "time", 3, "count"), ran(r));
    assertEquals(1 + 2 + 5 + 3, runner.forwards);
    // the plan says what was asked, ran what happened
    assertEquals(50, obj(r, "plan").get("iters"));
    assertEquals(2.5, obj(r, "plan").get("max_s"));
    assertEquals(successKeys(), new ArrayList<String>(r.keySet()));
  }

  @Test
  public void pastTheMinimumNoTimedRunStartsThatWouldEndPastMaxS() {
    runner.runMs = 1000;
    args.put("max_s", "3.5");
    args.put("min_iters", "2");
    Map<String, Object> r = run();
    // 2 s after 2 runs: a third ends at 3 s and starts; a fourth would end at 4 s
    assertEquals(3, ((double[]) r.get("values")).length);
    assertEquals("time", obj(r, "ran").get("iters_stopped_by"));
  }

  @Test
  public void aMinimumAboveItersRunsIters() {
    runner.runMs = 1000;
    args.put("iters", "3");
    args.put("min_iters", "5");
    args.put("max_s", "0");
    Map<String, Object> r = run();
    assertEquals(3, ((double[]) r.get("values")).length);
    assertEquals("count", obj(r, "ran").get("iters_stopped_by"));
  }

  @Test
  public void aFastModelStopsByCount() {
    runner.runMs = 1; // 1 ms a run
    args.put("warmup_s", "0.01"); // 10 ms: 4 warm-up runs take 4
    args.put("max_s", "0.01"); // 6 timed runs take 6
    args.put("dice_s", "0.01");
    Map<String, Object> r = run();
    assertEquals(Arrays.<Object>asList(4, "count", 6, "count", 3, "count"), ran(r));
  }

  @Test
  public void theFirstInferenceGuessesTheFirstWarmUpRun() {
    runner.firstMs = 3000; // an FR model unpacks its weights in its first call
    runner.runMs = 1;
    args.put("warmup_s", "2.5");
    Map<String, Object> r = run();
    assertEquals(0, ((double[]) r.get("warmups")).length);
    assertEquals(Arrays.<Object>asList(0, "time", 6, "count", 3, "count"), ran(r));
  }

  @Test
  public void eachPhaseCountsOnlyItsOwnTime() {
    runner.loadMs = 100000; // a slow load spends no phase's time
    runner.firstMs = 1000;
    runner.runMs = 1000;
    args.put("warmup_s", "4.5"); // 4 runs end at 4 s
    args.put("max_s", "3.5"); // a 4th timed run would end at 4 s
    args.put("min_iters", "1");
    args.put("dice_s", "2.5"); // a 3rd image would end at 3 s
    Map<String, Object> r = run();
    assertEquals(Arrays.<Object>asList(4, "count", 3, "time", 2, "time"), ran(r));
  }

  @Test
  public void zeroSecondsRunOnlyTheMinimums() {
    args.put("warmup_s", "0");
    args.put("max_s", "0");
    args.put("min_iters", "2");
    args.put("dice_s", "0");
    Map<String, Object> r = run();
    assertNull(r.get("error"));
    assertEquals(0, ((double[]) r.get("warmups")).length);
    assertEquals(2, ((double[]) r.get("values")).length);
    assertEquals(Arrays.<Object>asList(0, "time", 2, "time", 1, "time"), ran(r));
    assertEquals(1, obj(r, "accuracy").get("images"));
  }

  @Test
  public void theDicePassStopsByTimeAfterOneImageAtLeast() {
    runner.runMs = 1000;
    args.put("dice_s", "0.5");
    Map<String, Object> r = run();
    assertNull(r.get("error"));
    Map<String, Object> acc = obj(r, "accuracy");
    // one image always, though it ends at 1 s, past 0.5 s
    assertEquals(1, acc.get("images"));
    assertEquals(1, ((double[]) acc.get("dice_per_image")).length);
    assertEquals(1.0, (Double) acc.get("dice"), 0);
    assertEquals(1, obj(r, "ran").get("dice_images"));
    assertEquals("time", obj(r, "ran").get("dice_stopped_by"));
    assertEquals(1 + 4 + 6 + 1, runner.forwards);
  }

  @Test
  public void theDiceIsOverTheImagesScored() {
    runner.runMs = 1000;
    args.put("dice_s", "2.5");
    Map<String, Object> acc = obj(run(), "accuracy");
    // images 0 and 1 (both Dice 1); image 2 (Dice 6/7) would end at 3 s and is not scored
    assertEquals(2, acc.get("images"));
    assertEquals(1.0, (Double) acc.get("dice"), 0);
    assertEquals(2, ((double[]) acc.get("dice_per_image")).length);
  }

  @Test
  public void infiniteSecondsBoundNothing() {
    runner.runMs = 1e9; // 11.6 days a run
    args.put("warmup_s", "inf");
    args.put("max_s", "inf");
    args.put("dice_s", "inf");
    Map<String, Object> r = run();
    assertEquals(Arrays.<Object>asList(4, "count", 6, "count", 3, "count"), ran(r));
    String json = Json.write(r);
    assertTrue(json, json.contains("\"warmup_s\":null,"));
  }

  @Test
  public void ranComesLastInTheJson() {
    runner.runMs = 1000;
    args.put("max_s", "0");
    args.put("min_iters", "5");
    String json = Json.write(run());
    assertTrue(
        json,
        json.endsWith(
            ",\"ran\":{\"warmups\":4,\"warmups_stopped_by\":\"count\",\"iters\":5,"
                + "\"iters_stopped_by\":\"time\",\"dice_images\":3,"
                + "\"dice_stopped_by\":\"count\"}}"));
  }

  @Test
  public void aWholeModelHasNoWeightsKey() {
    Map<String, Object> model = obj(run(), "model");
    assertEquals(Arrays.asList("path", "fmt", "bytes"), new ArrayList<String>(model.keySet()));
  }

  @Test
  public void aWeightsFileIsLoadedWithTheProgramAndRecorded() throws Exception {
    String weights = Fakes.weightsFile(tmp.getRoot(), "weights.bin");
    args.put("weights", weights);
    Map<String, Object> r = run();
    assertNull(r.get("error"));
    assertEquals(
        Arrays.asList(
            "setThreads 2", "load " + args.get("model") + " weights " + weights, "forward"),
        runner.calls);
    // load_ms times the program and its weights together
    assertEquals(7.0 + 2.0, (Double) r.get("load_ms"), 1e-9);
    Map<String, Object> model = obj(r, "model");
    assertEquals(5L, model.get("bytes"));
    Map<String, Object> w = obj(model, "weights");
    assertEquals(weights, w.get("path"));
    assertEquals(7L, w.get("bytes"));
    assertEquals(Arrays.asList("path", "bytes"), new ArrayList<String>(w.keySet()));
    String json = Json.write(r);
    String modelJson =
        ",\"bytes\":5,\"weights\":{\"path\":" + Json.write(weights) + ",\"bytes\":7}}";
    assertTrue(json, json.contains(modelJson));
  }

  @Test
  public void aMissingWeightsFileIsNamed() {
    String weights = new File(tmp.getRoot(), "absent.bin").getPath();
    args.put("weights", weights);
    Map<String, Object> r = run();
    assertEquals("args: weights: no such file: " + weights, r.get("error"));
    assertTrue(runner.calls.isEmpty());
    Map<String, Object> w = obj(obj(r, "model"), "weights");
    assertEquals(weights, w.get("path"));
    assertNull(w.get("bytes"));
  }

  @Test
  public void aRuntimeThatRefusesWeightsGivesALoadErrorRow() throws Exception {
    runner.refuseWeights = true;
    String weights = Fakes.weightsFile(tmp.getRoot(), "model.ptd");
    args.put("weights", weights);
    Map<String, Object> r = run();
    assertEquals(
        "load: UnsupportedOperationException: this runtime takes no weights file", r.get("error"));
    assertMeasurementsNull(r);
    assertTrue(runner.closed);
    assertEquals(7L, obj(obj(r, "model"), "weights").get("bytes"));
  }

  @Test
  public void weightsOfAnArgumentErrorAreStillRecorded() {
    args.put("weights", "/nowhere/w.bin");
    args.put("iters", "0");
    Map<String, Object> r = run();
    assertTrue((String) r.get("error"), ((String) r.get("error")).startsWith("args: iters:"));
    assertEquals("/nowhere/w.bin", obj(obj(r, "model"), "weights").get("path"));
  }

  @Test
  public void memoryIsSampledBeforeLoadAfterLoadAndAfterRuns() {
    Map<String, Object> mem = obj(run(), "memory");
    assertEquals(3, memory.samples);
    assertEquals("kB", mem.get("unit"));
    assertEquals(1000L, mem.get("rss_before_load"));
    assertEquals(2000L, mem.get("rss_after_load"));
    assertEquals(3000L, mem.get("rss_after_runs"));
    assertEquals(5003L, mem.get("peak_rss"));
    assertEquals(900L, mem.get("pss_before_load"));
    assertEquals(1800L, mem.get("pss_after_load"));
    assertEquals(2700L, mem.get("pss_after_runs"));
    assertEquals(
        "[unit, rss_before_load, rss_after_load, rss_after_runs, peak_rss, pss_before_load,"
            + " pss_after_load, pss_after_runs]",
        mem.keySet().toString());
  }

  @Test
  public void diceOverEveryTestImage() {
    Map<String, Object> acc = obj(run(), "accuracy");
    double[] per = (double[]) acc.get("dice_per_image");
    assertEquals(3, acc.get("images"));
    assertEquals(1.0, per[0], 0);
    assertEquals(1.0, per[1], 0);
    assertEquals((6 + 1e-6) / (7 + 1e-6), per[2], 1e-15);
    assertEquals((2 + per[2]) / 3, (Double) acc.get("dice"), 1e-15);
  }

  @Test
  public void statsComeFromTheTimedValuesOnly() {
    runner.firstMs = 100;
    runner.runMs = 2;
    Map<String, Object> r = run();
    Map<String, Object> stats = obj(r, "stats");
    assertEquals(2.0, (Double) stats.get("max"), 1e-9);
    assertEquals(100.0, (Double) r.get("first_inference_ms"), 1e-9);
  }

  @Test
  public void unsetThreadsAreRecordedAsNull() {
    runner.threadsSupported = false;
    Map<String, Object> r = run();
    assertNull(r.get("error"));
    assertTrue(obj(r, "plan").containsKey("threads"));
    assertNull(obj(r, "plan").get("threads"));
  }

  @Test
  public void noTestDataMeansNoAccuracy() {
    args.remove("images");
    args.remove("masks");
    Map<String, Object> r = run();
    assertNull(r.get("error"));
    assertNull(r.get("accuracy"));
    assertEquals(11, runner.forwards);
    // no Dice pass: no image, nothing to stop
    assertEquals(Arrays.<Object>asList(4, "count", 6, "count", 0, "count"), ran(r));
  }

  @Test
  public void aModelThatFailsToLoadGivesAnErrorResult() {
    runner.failOnLoad = new RuntimeException("Unknown builtin op: aten::foo");
    Map<String, Object> r = run();
    assertEquals("load: RuntimeException: Unknown builtin op: aten::foo", r.get("error"));
    assertMeasurementsNull(r);
    assertTrue(runner.closed);
    assertEquals(0, runner.forwards);
    // what was attempted is still recorded
    assertEquals(args.get("model"), obj(r, "model").get("path"));
    assertNotNull(r.get("plan"));
    assertNotNull(r.get("device"));
    String json = Json.write(r);
    assertFalse(json.contains("\n"));
    assertTrue(json.contains("\"error\":\"load: RuntimeException: Unknown builtin op: aten::foo\""));
    assertTrue(json.contains("\"load_ms\":null"));
  }

  @Test
  public void outOfMemoryDuringTheTimedRunsIsReportedNotThrown() {
    runner.errorOnForward = new OutOfMemoryError("Failed to allocate 1 GB");
    runner.errorOnForwardCall = 8; // 1 first + 4 warmups + 3rd timed run
    Map<String, Object> r = run();
    assertEquals("timed: OutOfMemoryError: Failed to allocate 1 GB", r.get("error"));
    assertMeasurementsNull(r);
    assertEquals(Benchmark.KEYS, new ArrayList<String>(r.keySet()));
    assertTrue(runner.closed);
  }

  @Test
  public void badArgumentsGiveAnErrorResult() {
    args.put("max_s", "soon");
    assertEquals(
        "args: max_s: expected a number of seconds >= 0 (or inf), got 'soon'", run().get("error"));
    args.remove("max_s");
    args.put("iters", "many");
    Map<String, Object> r = run();
    assertEquals("args: iters: expected an integer >= 1, got 'many'", r.get("error"));
    assertMeasurementsNull(r);
    assertNull(r.get("plan"));
    assertEquals(args.get("model"), obj(r, "model").get("path"));
    assertTrue(runner.calls.isEmpty());
  }

  @Test
  public void missingArgumentsGiveAnErrorResult() {
    Map<String, Object> r =
        new Benchmark(runner, clock, memory, Fakes.device(), Fakes.metadata()).run(null);
    assertEquals(
        "args: model: missing; pass -e model /data/local/tmp/frbench/<name>.ptl|.pte",
        r.get("error"));
    assertNull(obj(r, "model").get("path"));
  }

  @Test
  public void aMissingModelFileIsNamed() {
    String path = new File(tmp.getRoot(), "absent.ptl").getPath();
    args.put("model", path);
    Map<String, Object> r = run();
    assertEquals("args: model: no such file: " + path, r.get("error"));
    assertNull(obj(r, "model").get("bytes"));
  }

  @Test
  public void aModelOfTheOtherFormatIsRefused() throws Exception {
    args = Fakes.testFiles(tmp.getRoot(), "model.pte");
    Map<String, Object> r = run();
    String error = (String) r.get("error");
    assertTrue(error, error.startsWith("args: model: "));
    assertTrue(error, error.contains("is a .pte file, but this APK runs .ptl models"));
    assertTrue(runner.calls.isEmpty());
  }

  @Test
  public void testDataThatDoesNotMatchTheShapeIsADataError() {
    args.put("shape", "4,3,4,5");
    Map<String, Object> r = run();
    String error = (String) r.get("error");
    assertTrue(error, error.startsWith("data: images: "));
    assertTrue(error, error.contains("needs 960"));
  }

  @Test
  public void anOutputOfTheWrongShapeFailsTheAccuracyPassNamingTheImage() {
    runner.outputShapeOverride = new long[] {1, 2, 5, 4};
    Map<String, Object> r = run();
    String error = (String) r.get("error");
    assertTrue(error, error.startsWith("accuracy (image 0): output shape [1, 2, 5, 4]"));
    assertMeasurementsNull(r);
  }

  @Test
  public void aBrokenMemoryProbeOnlyLosesTheMemoryFigures() {
    MemoryProbe broken =
        new MemoryProbe() {
          @Override
          public Sample sample() {
            throw new IllegalStateException("no /proc");
          }
        };
    Map<String, Object> r =
        new Benchmark(runner, clock, broken, Fakes.device(), Fakes.metadata()).run(args);
    assertNull(r.get("error"));
    assertNull(obj(r, "memory").get("rss_after_runs"));
    assertEquals("kB", obj(r, "memory").get("unit"));
  }

  @Test
  public void errorResultHasEveryKey() {
    Map<String, Object> r =
        Benchmark.errorResult(
            "app: boom", "/m.ptl", Benchmark.runtime("x", "1"), null, Fakes.metadata());
    assertEquals(Benchmark.KEYS, new ArrayList<String>(r.keySet()));
    assertEquals("app: boom", r.get("error"));
    assertMeasurementsNull(r);
  }

  @Test
  public void theJsonIsOneLineAndHasNoNaN() {
    String json = new Benchmark(runner, clock, memory, Fakes.device(), Fakes.metadata()).runJson(args);
    assertFalse(json.contains("\n"));
    assertFalse(json.contains("NaN"));
    assertFalse(json.contains("Infinity"));
    assertTrue(json.startsWith("{\"format\":1,\"unit\":\"ms\",\"error\":null,\"runner\":\"android\","));
  }

  @Test
  public void writeAtomicallyReplacesTheFile() throws Exception {
    File out = new File(tmp.getRoot(), "sub/result.json");
    Benchmark.writeAtomically("{\"a\":1}", out);
    Benchmark.writeAtomically("{\"a\":2}", out);
    byte[] bytes = java.nio.file.Files.readAllBytes(out.toPath());
    assertEquals("{\"a\":2}\n", new String(bytes, "UTF-8"));
    List<String> names = Arrays.asList(out.getParentFile().list());
    assertEquals(Arrays.asList("result.json"), names);
  }

  @Test
  public void isoDateIsUtcToTheSecond() {
    assertEquals("1970-01-01T00:00:01Z", Benchmark.isoDateUtc(1500));
  }

  @Test
  public void describeNamesTheStageAndTheException() {
    assertEquals(
        "load: IllegalStateException: bad",
        Benchmark.describe("load", new IllegalStateException("bad")));
    assertEquals(
        "warmup: NullPointerException", Benchmark.describe("warmup", new NullPointerException()));
    assertEquals(
        "args: iters: bad", Benchmark.describe("args", new IllegalArgumentException("iters: bad")));
  }

  @Test
  public void aRunnersProfileGoesIntoTheResultAndOneWithoutSaysWhy() {
    Fakes.FakeRunner runner = new Fakes.FakeRunner(new Fakes.FakeClock());
    Map<String, Object> without = Benchmark.profileOf(runner);
    assertEquals(Boolean.FALSE, without.get("available"));
    assertTrue(String.valueOf(without.get("reason")).contains("fake-runtime"));
    Map<String, Object> etdump = new java.util.LinkedHashMap<String, Object>();
    etdump.put("available", Boolean.TRUE);
    etdump.put("etdump_device_path", "/data/local/tmp/result.etdump");
    runner.profile = etdump;
    assertEquals(etdump, Benchmark.profileOf(runner));
    runner.failOnProfile = new IllegalStateException("tracer gone");
    Map<String, Object> failed = Benchmark.profileOf(runner);
    assertEquals(Boolean.FALSE, failed.get("available"));
    assertEquals("profile: IllegalStateException: tracer gone", failed.get("reason"));
  }
}
