package org.frbench.bench.core;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Test doubles for the benchmark: a scripted clock, runner and memory probe, and test files. */
final class Fakes {
  private Fakes() {}

  /** A clock that only moves when told to (by the fake runner), in nanoseconds. */
  static final class FakeClock implements Clock {
    long now = 1000000000L;
    int reads;

    @Override
    public long nanoTime() {
      reads++;
      return now;
    }

    void advanceMs(double ms) {
      now += Math.round(ms * 1e6);
    }
  }

  /**
   * A runner whose load takes {@code loadMs} (plus {@code weightsMs} with a weights file), whose
   * first forward takes {@code firstMs} and the others {@code runMs} each (on the fake clock). Its
   * output: 2 classes, class 1 wins where channel 0 of the input is > 0.5, so a mask equal to
   * (channel 0 > 0.5) scores Dice 1. With {@code refuseWeights} it refuses a weights file, as the
   * ExecuTorch runner does.
   */
  static class FakeRunner implements ModelRunner {
    final FakeClock clock;
    double loadMs = 7.0;
    double weightsMs = 2.0;
    boolean refuseWeights;
    double firstMs = 3.0;
    double runMs = 1.0;
    boolean threadsSupported = true;
    String format = "ptl";
    final List<String> calls = new ArrayList<String>();
    int forwards;
    boolean closed;
    RuntimeException failOnLoad;
    Error errorOnForward;
    int errorOnForwardCall = -1;
    long[] outputShapeOverride;
    Map<String, Object> profile;
    RuntimeException failOnProfile;

    FakeRunner(FakeClock clock) {
      this.clock = clock;
    }

    @Override
    public String format() {
      return format;
    }

    @Override
    public String runtimeName() {
      return "fake-runtime";
    }

    @Override
    public String runtimeVersion() {
      return "0.0.1";
    }

    @Override
    public boolean setThreads(int threads) {
      calls.add("setThreads " + threads);
      return threadsSupported;
    }

    @Override
    public void load(String path, String weights) {
      calls.add(weights == null ? "load " + path : "load " + path + " weights " + weights);
      if (weights != null && refuseWeights) {
        throw new UnsupportedOperationException("this runtime takes no weights file");
      }
      clock.advanceMs(loadMs);
      if (failOnLoad != null) {
        throw failOnLoad;
      }
      if (weights != null) {
        clock.advanceMs(weightsMs);
      }
    }

    @Override
    public Map<String, Object> profile() {
      if (failOnProfile != null) {
        throw failOnProfile;
      }
      return profile;
    }

    @Override
    public Logits forward(float[] data, long[] shape) {
      forwards++;
      if (forwards == 1) {
        calls.add("forward");
      }
      if (errorOnForward != null && forwards == errorOnForwardCall) {
        throw errorOnForward;
      }
      clock.advanceMs(forwards == 1 ? firstMs : runMs);
      int h = (int) shape[2];
      int w = (int) shape[3];
      int hw = h * w;
      float[] out = new float[2 * hw];
      for (int i = 0; i < hw; i++) {
        boolean fg = data[i] > 0.5f;
        out[i] = fg ? 0f : 1f; // class 0
        out[hw + i] = fg ? 1f : 0f; // class 1
      }
      long[] outShape =
          outputShapeOverride != null ? outputShapeOverride : new long[] {1, 2, h, w};
      return Logits.of(out, outShape);
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  /** A probe that counts its samples: rss = 1000*k, peak = 5000 + k, pss = 900*k. */
  static final class FakeMemory implements MemoryProbe {
    int samples;

    @Override
    public Sample sample() {
      samples++;
      return new Sample(1000L * samples, 5000L + samples, 900L * samples);
    }
  }

  static Map<String, Object> device() {
    return DeviceFacts.android("Pixel Fake", "Google", "x86_64", 34, 4, true);
  }

  static Map<String, Object> metadata() {
    return Benchmark.metadata("2025-01-01T00:00:00Z", "test");
  }

  static void writeFloats(File f, float[] values) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float v : values) {
      b.putFloat(v);
    }
    writeBytes(f, b.array());
  }

  static void writeBytes(File f, byte[] bytes) throws IOException {
    FileOutputStream out = new FileOutputStream(f);
    try {
      out.write(bytes);
    } finally {
      out.close();
    }
  }

  /**
   * Writes a model file and N=3 test images of 3x4x5 into {@code dir}: image i has channel 0 =
   * 1 on its first (i+1) pixels; masks equal that, except image 2's mask, which has one extra
   * pixel (Dice 2*3/(3+4)).
   */
  /** Writes a weights file of 7 bytes into {@code dir}; returns its path. */
  static String weightsFile(File dir, String name) throws IOException {
    File f = new File(dir, name);
    writeBytes(f, new byte[] {9, 8, 7, 6, 5, 4, 3});
    return f.getPath();
  }

  static Map<String, String> testFiles(File dir, String modelName) throws IOException {
    int n = 3;
    int c = 3;
    int h = 4;
    int w = 5;
    float[] images = new float[n * c * h * w];
    byte[] masks = new byte[n * h * w];
    for (int i = 0; i < n; i++) {
      for (int p = 0; p <= i; p++) {
        images[i * c * h * w + p] = 1f; // channel 0
        masks[i * h * w + p] = 1;
      }
    }
    masks[2 * h * w + 10] = 1;
    File model = new File(dir, modelName);
    writeBytes(model, new byte[] {1, 2, 3, 4, 5});
    File img = new File(dir, "test_images.bin");
    File msk = new File(dir, "test_masks.bin");
    writeFloats(img, images);
    writeBytes(msk, masks);
    Map<String, String> args = new LinkedHashMap<String, String>();
    args.put("model", model.getPath());
    args.put("threads", "2");
    args.put("warmup", "4");
    args.put("iters", "6");
    args.put("images", img.getPath());
    args.put("masks", msk.getPath());
    args.put("shape", n + "," + c + "," + h + "," + w);
    return args;
  }
}
