package org.pytorch;

public class LiteModuleLoader {
  // compile-only stub: see compile-stubs/README.md
  public static Module load(final String modelPath) {
    throw new UnsupportedOperationException("stub");
  }
}
