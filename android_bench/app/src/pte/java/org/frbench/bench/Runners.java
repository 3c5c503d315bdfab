package org.frbench.bench;

import org.frbench.bench.core.ModelRunner;

/** The pte flavor's runtime: ExecuTorch. (The ptl flavor has its own Runners.) */
final class Runners {
  private Runners() {}

  static ModelRunner create() {
    return new ExecuTorchRunner();
  }
}
