package org.frbench.bench;

import java.util.Arrays;
import org.frbench.bench.core.Logits;
import org.frbench.bench.core.ModelRunner;
import org.pytorch.IValue;
import org.pytorch.LiteModuleLoader;
import org.pytorch.Module;
import org.pytorch.PyTorchAndroid;
import org.pytorch.Tensor;

/**
 * Runs a {@code .ptl} (TorchScript saved for the lite interpreter) with {@code
 * org.pytorch:pytorch_android_lite}: {@link LiteModuleLoader#load(String)}, {@link
 * Module#forward(IValue...)}, threads through {@link PyTorchAndroid#setNumThreads(int)} (global
 * to the process, which runs one model).
 *
 * <p>A "program plus weights" model is a {@code .ptl} program that exports {@code
 * set_weights(self, path: str) -> None}, which reads the weights file at {@code path} into its
 * tensors: {@link #load} calls it right after loading the program, so {@code load_ms} covers both.
 */
final class LiteRunner implements ModelRunner {
  private Module module;
  private float[] inputData;
  private long[] inputShape;
  private IValue input;

  @Override
  public String format() {
    return "ptl";
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
    PyTorchAndroid.setNumThreads(threads);
    return true;
  }

  /** The method a program exports to read its weights file: {@code set_weights(path: str)}. */
  static final String SET_WEIGHTS = "set_weights";

  @Override
  public void load(String path, String weights) {
    module = LiteModuleLoader.load(path);
    if (weights != null) {
      try {
        module.runMethod(SET_WEIGHTS, IValue.from(weights));
      } catch (RuntimeException e) {
        // Say that the program itself loaded: the error row then points at the weights file
        // (or at a program without set_weights), not at the .ptl.
        throw new IllegalStateException(
            "the program loaded, but its set_weights(\"" + weights + "\") failed", e);
      }
    }
  }

  @Override
  public Logits forward(float[] data, long[] shape) {
    if (module == null) {
      throw new IllegalStateException("forward before load");
    }
    if (data != inputData || !Arrays.equals(shape, inputShape)) {
      // Build the input tensor once per input array: the timed runs reuse it.
      input = IValue.from(Tensor.fromBlob(data, shape));
      inputData = data;
      inputShape = shape.clone();
    }
    final Tensor out = firstTensor(module.forward(input));
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

  /** The output tensor, or the first tensor of a tuple/list output. */
  private static Tensor firstTensor(IValue v) {
    if (v == null) {
      throw new IllegalStateException("the model returned no output");
    }
    if (v.isTensor()) {
      return v.toTensor();
    }
    if (v.isTuple() && v.toTuple().length > 0) {
      return firstTensor(v.toTuple()[0]);
    }
    if (v.isList() && v.toList().length > 0) {
      return firstTensor(v.toList()[0]);
    }
    if (v.isTensorList() && v.toTensorList().length > 0) {
      return v.toTensorList()[0];
    }
    throw new IllegalStateException("the model's output is not a tensor");
  }

  @Override
  public void close() {
    if (module != null) {
      module.destroy();
      module = null;
    }
  }
}
