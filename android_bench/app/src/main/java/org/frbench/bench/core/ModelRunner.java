package org.frbench.bench.core;

/**
 * One runtime that loads an exported model and runs it: PyTorch Lite ({@code .ptl}) in the {@code
 * ptl} APK, ExecuTorch ({@code .pte}) in the {@code pte} APK, a fake in the unit tests.
 *
 * <p>{@link Benchmark} calls, in this order: {@link #setThreads} once, {@link #load} once, then
 * {@link #forward} many times, then {@link #close}. Any method may throw; the benchmark turns the
 * exception into the result's {@code error} field.
 *
 * <pre>{@code
 * ModelRunner r = new LiteRunner();
 * r.setThreads(4);
 * r.load("/data/local/tmp/frbench/model.ptl", null);
 * Logits y = r.forward(image, new long[] {1, 3, 64, 64});
 * }</pre>
 */
public interface ModelRunner {
  /** The model file format this runner loads: {@code "ptl"} or {@code "pte"}. */
  String format();

  /** The runtime's name in the result JSON: {@code "pytorch-lite"} or {@code "executorch"}. */
  String runtimeName();

  /** The runtime's version (the library version the APK was built against). */
  String runtimeVersion();

  /**
   * Fixes the number of intra-op threads, before {@link #load}. Returns false when the runtime
   * offers no way to set it; the result then records {@code "threads": null} (runtime default).
   */
  boolean setThreads(int threads) throws Exception;

  /**
   * Loads the model; this whole call is what {@code load_ms} times.
   *
   * @param path the model file ({@code .ptl} / {@code .pte}); with {@code weights}, the program
   * @param weights null when {@code path} is the whole model; else the weights file of a "program
   *     plus weights" model (what a phone that already holds the program downloads as an update),
   *     which the runner loads into the program before the first inference. A runtime that cannot
   *     do that throws, naming why.
   */
  void load(String path, String weights) throws Exception;

  /**
   * Runs the model on one input (float32 NCHW {@code data} of the given {@code shape}) and returns
   * its first output. Runners may keep the input tensor they build for the same {@code data}
   * array between calls, so that the timed runs time the model rather than the copy.
   */
  Logits forward(float[] data, long[] shape) throws Exception;

  /**
   * The runtime's own per-operator profile of the runs so far, as the result's {@code profile}
   * object ({@code available}, and {@code reason} or where the profile is); called after the Dice
   * pass, before {@link #close}. Null (the default): this runner reads no profile.
   */
  default java.util.Map<String, Object> profile() throws Exception {
    return null;
  }

  /** Frees the model; called once at the end, also after a failure. */
  void close();
}
