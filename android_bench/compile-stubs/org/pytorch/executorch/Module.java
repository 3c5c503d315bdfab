package org.pytorch.executorch;

public class Module {
  // compile-only stub: see compile-stubs/README.md
  public static final int LOAD_MODE_FILE = 0;
  public static final int LOAD_MODE_MMAP = 1;

  public static Module load(String modelPath) {
    throw new UnsupportedOperationException("stub");
  }

  public static Module load(String modelPath, int loadMode, int numThreads) {
    throw new UnsupportedOperationException("stub");
  }

  public EValue[] forward(EValue... inputs) {
    throw new UnsupportedOperationException("stub");
  }

  /** void in Module.kt (throws on failure), int in the older Module.java: the app ignores it. */
  public void loadMethod(String methodName) {}

  /** Writes /data/local/tmp/result.etdump where the AAR was built with its event tracer. */
  public boolean etdump() {
    throw new UnsupportedOperationException("stub");
  }

  public void destroy() {}
}
