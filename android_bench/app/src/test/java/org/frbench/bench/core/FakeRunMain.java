package org.frbench.bench.core;

import java.io.File;
import java.nio.file.Files;
import java.util.Map;

/**
 * For tests/test_android_java.py: runs the protocol with the fake runner on generated test files
 * and prints three result JSON lines, a successful run, a failed load, and a successful run of a
 * program plus weights file (model.weights), so that Python checks them with its strict json
 * parser against the result format's keys.
 */
public final class FakeRunMain {
  private FakeRunMain() {}

  public static void main(String[] argv) throws Exception {
    File dir = Files.createTempDirectory("frbench-fake").toFile();
    Map<String, String> args = Fakes.testFiles(dir, "model.ptl");
    Fakes.FakeClock clock = new Fakes.FakeClock();
    Fakes.FakeRunner ok = new Fakes.FakeRunner(clock);
    ok.runMs = 1.25;
    System.out.println(
        new Benchmark(ok, clock, ProcStatus.selfProbe(), Fakes.device(), Fakes.metadata())
            .runJson(args));
    Fakes.FakeRunner broken = new Fakes.FakeRunner(clock);
    broken.failOnLoad = new RuntimeException("cannot \"open\"\n\u00e9");
    System.out.println(
        new Benchmark(broken, clock, ProcStatus.selfProbe(), Fakes.device(), Fakes.metadata())
            .runJson(args));
    args.put("weights", Fakes.weightsFile(dir, "weights.bin"));
    Fakes.FakeRunner program = new Fakes.FakeRunner(clock);
    System.out.println(
        new Benchmark(program, clock, ProcStatus.selfProbe(), Fakes.device(), Fakes.metadata())
            .runJson(args));
    for (File f : dir.listFiles()) {
      f.delete();
    }
    dir.delete();
  }
}
