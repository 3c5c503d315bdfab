package org.pytorch.executorch;

public class EValue {
  // compile-only stub: see compile-stubs/README.md
  public static EValue from(Tensor tensor) {
    throw new UnsupportedOperationException("stub");
  }

  public boolean isTensor() {
    throw new UnsupportedOperationException("stub");
  }

  public Tensor toTensor() {
    throw new UnsupportedOperationException("stub");
  }
}
