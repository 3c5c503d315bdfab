package org.frbench.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import org.frbench.bench.core.ExternalData;
import org.frbench.bench.core.Logits;
import org.frbench.bench.core.ModelRunner;

/**
 * Runs a {@code .onnx} with {@code com.microsoft.onnxruntime:onnxruntime-android}: {@code
 * OrtEnvironment.createSession(path, options)}, {@link OrtSession#run(Map)}, with the session
 * options the host runner records (frbench/formats/onnx/runtime.py): every graph optimization
 * ({@code OptLevel.ALL_OPT}, ONNX Runtime's default), {@code threads} intra-op threads, one
 * inter-op thread, sequential execution. Creating the session is the load: ONNX Runtime reads the
 * file, optimizes the graph and folds its constants there (FR's unpack), so {@code load_ms} covers
 * it.
 *
 * <p>A "program plus weights" model is a {@code .onnx} program whose initializers are in an
 * external data file; ONNX Runtime reads that file from the program's folder under the name the
 * program records, so the weights file must sit beside the program ({@link ExternalData}), as the
 * Python adb runner pushes it.
 */
final class OnnxRuntimeRunner implements ModelRunner {
  private OrtEnvironment env;
  private OrtSession session;
  private String inputName;
  private int threads = 1;
  private float[] inputData;
  private long[] inputShape;
  private OnnxTensor input;

  @Override
  public String format() {
    return "onnx";
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

  @Override
  public void load(String path, String weights) throws Exception {
    if (weights != null) {
      ExternalData.checkBeside(path, weights);
    }
    env = OrtEnvironment.getEnvironment();
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    try {
      options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
      options.setIntraOpNumThreads(threads);
      options.setInterOpNumThreads(1);
      options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
      session = env.createSession(path, options);
    } finally {
      options.close();
    }
    inputName = session.getInputNames().iterator().next();
  }

  @Override
  public Logits forward(float[] data, long[] shape) throws Exception {
    if (session == null) {
      throw new IllegalStateException("forward before load");
    }
    if (data != inputData || !Arrays.equals(shape, inputShape)) {
      // Build the input tensor once per input array: the timed runs reuse it.
      if (input != null) {
        input.close();
      }
      input = OnnxTensor.createTensor(env, FloatBuffer.wrap(data), shape);
      inputData = data;
      inputShape = shape.clone();
    }
    Map<String, OnnxTensor> feed = Collections.singletonMap(inputName, input);
    OrtSession.Result result = session.run(feed);
    try {
      OnnxValue first = result.get(0);
      if (!(first instanceof OnnxTensor)) {
        throw new IllegalStateException("the model's first output is not a tensor");
      }
      OnnxTensor out = (OnnxTensor) first;
      final long[] outShape = out.getInfo().getShape();
      FloatBuffer buffer = out.getFloatBuffer();
      final float[] values = new float[buffer.remaining()];
      buffer.get(values);
      return new Logits() {
        @Override
        public long[] shape() {
          return outShape;
        }

        @Override
        public float[] data() {
          return values;
        }
      };
    } finally {
      result.close();
    }
  }

  @Override
  public void close() {
    try {
      if (input != null) {
        input.close();
      }
      if (session != null) {
        session.close();
      }
    } catch (Exception e) {
      // closing frees native memory; a failure here changes no measurement
    }
    input = null;
    session = null;
  }
}
