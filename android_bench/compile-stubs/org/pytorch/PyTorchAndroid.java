package org.pytorch;

public final class PyTorchAndroid {
  // compile-only stub: see compile-stubs/README.md
  public static void setNumThreads(int numThreads) {}
}
