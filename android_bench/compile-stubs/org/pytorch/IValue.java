package org.pytorch;

public class IValue {
  // compile-only stub: see compile-stubs/README.md
  public static IValue from(Tensor tensor) {
    throw new UnsupportedOperationException("stub");
  }

  public static IValue from(String value) {
    throw new UnsupportedOperationException("stub");
  }

  public boolean isTensor() {
    throw new UnsupportedOperationException("stub");
  }

  public boolean isTuple() {
    throw new UnsupportedOperationException("stub");
  }

  public boolean isList() {
    throw new UnsupportedOperationException("stub");
  }

  public boolean isTensorList() {
    throw new UnsupportedOperationException("stub");
  }

  public Tensor toTensor() {
    throw new UnsupportedOperationException("stub");
  }

  public IValue[] toTuple() {
    throw new UnsupportedOperationException("stub");
  }

  public IValue[] toList() {
    throw new UnsupportedOperationException("stub");
  }

  public Tensor[] toTensorList() {
    throw new UnsupportedOperationException("stub");
  }
}
