package ai.onnxruntime;

public class OrtException extends Exception {
  // compile-only stub: see compile-stubs/README.md
  public OrtException(String message) {
    super(message);
  }
}
