package ai.onnxruntime;

public final class OrtEnvironment implements AutoCloseable {
  // compile-only stub: see compile-stubs/README.md
  public static OrtEnvironment getEnvironment() {
    throw new UnsupportedOperationException("stub");
  }

  public OrtSession createSession(String modelPath, OrtSession.SessionOptions options)
      throws OrtException {
    throw new UnsupportedOperationException("stub");
  }

  @Override
  public void close() {}
}
