package org.pytorch;

public class Module {
  // compile-only stub: see compile-stubs/README.md
  public IValue forward(IValue... inputs) {
    throw new UnsupportedOperationException("stub");
  }

  public IValue runMethod(String methodName, IValue... inputs) {
    throw new UnsupportedOperationException("stub");
  }

  public void destroy() {}
}
