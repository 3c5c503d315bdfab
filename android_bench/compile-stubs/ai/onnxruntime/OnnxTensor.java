package ai.onnxruntime;

import java.nio.FloatBuffer;

public class OnnxTensor extends OnnxTensorLike {
  // compile-only stub: see compile-stubs/README.md
  public static OnnxTensor createTensor(OrtEnvironment env, FloatBuffer data, long[] shape)
      throws OrtException {
    throw new UnsupportedOperationException("stub");
  }

  public FloatBuffer getFloatBuffer() {
    throw new UnsupportedOperationException("stub");
  }

  public TensorInfo getInfo() {
    throw new UnsupportedOperationException("stub");
  }
}
