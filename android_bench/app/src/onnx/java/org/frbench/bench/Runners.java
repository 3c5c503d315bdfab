package org.frbench.bench;

import org.frbench.bench.core.ModelRunner;

/** The onnx flavor's runtime: ONNX Runtime. (The ptl and pte flavors have their own Runners.) */
final class Runners {
  private Runners() {}

  static ModelRunner create() {
    return new OnnxRuntimeRunner();
  }
}
