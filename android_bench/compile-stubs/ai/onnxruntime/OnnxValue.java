package ai.onnxruntime;

public interface OnnxValue extends AutoCloseable {
  // compile-only stub: see compile-stubs/README.md
  @Override
  void close();
}
