package org.frbench.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.frbench.bench.core.Logits;
import org.frbench.bench.core.ModelRunner;
import org.pytorch.executorch.EValue;
import org.pytorch.executorch.Module;
import org.pytorch.executorch.Tensor;

/**
 * Runs a {@code .pte} with {@code org.pytorch:executorch-android}: {@code Module.load(path,
 * loadMode, numThreads)}, {@link Module#forward(EValue...)}. Threads are set through the {@code
 * numThreads} argument of {@code Module.load} (the ExecuTorch 1.x Java API; 0 would mean the
 * runtime's default), so {@link #setThreads} only records the count for {@link #load}.
 *
 * <p>The file is read whole ({@code LOAD_MODE_FILE}, {@code Module.load(path)}'s default), so
 * {@code load_ms} includes reading it, as for PyTorch Lite.
 *
 * <p>A "program plus weights" model (a {@code .pte} program and its {@code .ptd} data file) is
 * refused: the Java API has no way to pass the data file ({@link #NO_DATA_FILE}).
 */
final class ExecuTorchRunner implements ModelRunner {
  private Module module;
  private int threads;
  private float[] inputData;
  private long[] inputShape;
  private EValue input;

  @Override
  public String format() {
    return "pte";
  }

  @Override
  public String runtimeName() {
    return BuildConfig.RUNTIME_NAME;
  }

  @Override
  public String runtimeVersion() {
    return BuildConfig.RUNTIME_VERSION;
  }

  @Override
  public boolean setThreads(int threads) {
    this.threads = threads;
    return true;
  }

  /**
   * Why a weights file fails the load. In ExecuTorch's sources at tag v1.4.1 and on main, {@code
   * Module.load(modelPath, loadMode, numThreads)} (extension/android/executorch_android/src/main/
   * java/org/pytorch/executorch/Module.kt) is the only way to load, and it takes no data file.
   */
  static final String NO_DATA_FILE =
      "ExecuTorch's Android API (executorch-android 1.4.1) Module.load(path, loadMode, numThreads)"
          + " takes no data file (.ptd), so this APK cannot run a program plus a data file;"
          + " a program-plus-data model runs on the host runner only";

  @Override
  public void load(String path, String weights) {
    if (weights != null) {
      throw new UnsupportedOperationException(NO_DATA_FILE + " (weights: " + weights + ")");
    }
    module = Module.load(path, Module.LOAD_MODE_FILE, threads);
    // Load the method now, so that load_ms covers it rather than the first inference
    // (ExecuTorch loads methods lazily otherwise).
    module.loadMethod("forward");
  }

  @Override
  public Logits forward(float[] data, long[] shape) {
    if (module == null) {
      throw new IllegalStateException("forward before load");
    }
    if (data != inputData || !Arrays.equals(shape, inputShape)) {
      // Build the input tensor once per input array: the timed runs reuse it.
      input = EValue.from(Tensor.fromBlob(data, shape));
      inputData = data;
      inputShape = shape.clone();
    }
    EValue[] outputs = module.forward(input);
    if (outputs == null || outputs.length == 0) {
      throw new IllegalStateException("forward returned no outputs");
    }
    if (!outputs[0].isTensor()) {
      throw new IllegalStateException("the model's first output is not a tensor");
    }
    final Tensor out = outputs[0].toTensor();
    return new Logits() {
      @Override
      public long[] shape() {
        return out.shape();
      }

      @Override
      public float[] data() {
        return out.getDataAsFloatArray();
      }
    };
  }

  /** Where {@code Module.etdump()} writes the ETDump (ExecuTorch's minibench path). */
  static final String ETDUMP_PATH = "/data/local/tmp/result.etdump";

  static final String NO_ETDUMP =
      "Module.etdump() wrote no ETDump: the executorch-android AAR was built without its event"
          + " tracer (EXECUTORCH_ANDROID_PROFILING / EXECUTORCH_ENABLE_EVENT_TRACER, off in the AAR"
          + " Maven Central publishes), or the app may not write " + ETDUMP_PATH;

  /**
   * ETDump, ExecuTorch's event tracer, of every run so far ({@code Module.etdump()}, which writes
   * {@link #ETDUMP_PATH}); the Python runner pulls it and reads it with {@code
   * executorch.devtools.Inspector}. Where none is written, why.
   */
  @Override
  public Map<String, Object> profile() {
    Map<String, Object> p = new LinkedHashMap<String, Object>();
    boolean written = module != null && module.etdump();
    p.put("available", Boolean.valueOf(written));
    if (written) {
      p.put("source", "ExecuTorch ETDump (Module.etdump())");
      p.put("etdump_device_path", ETDUMP_PATH);
    } else {
      p.put("reason", NO_ETDUMP);
    }
    return p;
  }

  @Override
  public void close() {
    if (module != null) {
      module.destroy();
      module = null;
    }
  }
}
