package ai.onnxruntime;

public abstract class OnnxTensorLike implements OnnxValue {
  // compile-only stub: see compile-stubs/README.md
  @Override
  public void close() {}
}
