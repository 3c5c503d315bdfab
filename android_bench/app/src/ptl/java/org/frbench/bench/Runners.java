package org.frbench.bench;

import org.frbench.bench.core.ModelRunner;

/** The ptl flavor's runtime: PyTorch Lite. (The pte flavor has its own Runners.) */
final class Runners {
  private Runners() {}

  static ModelRunner create() {
    return new LiteRunner();
  }
}
