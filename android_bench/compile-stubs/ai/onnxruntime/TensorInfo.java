package ai.onnxruntime;

public class TensorInfo {
  // compile-only stub: see compile-stubs/README.md
  public long[] getShape() {
    throw new UnsupportedOperationException("stub");
  }
}
