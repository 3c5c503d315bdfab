package android.os;

public final class Debug {
  // compile-only stub: see compile-stubs/README.md
  public static long getPss() {
    throw new UnsupportedOperationException("stub");
  }
}
