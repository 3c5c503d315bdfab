package org.frbench.bench.core;

import java.io.File;

/**
 * Where a program's external data must be for ONNX Runtime to read it: ONNX's external data names
 * its file relative to the program ({@code location}), and ONNX Runtime resolves that name in the
 * program's folder. A weights file elsewhere would be silently ignored in favour of whatever sits
 * beside the program, or not found; so a "program plus weights" run checks first that the weights
 * file is in the program's folder.
 */
public final class ExternalData {
  private ExternalData() {}

  /** Throws IllegalArgumentException, naming both files, unless {@code weights} sits beside {@code program}. */
  public static void checkBeside(String program, String weights) {
    File folder = new File(program).getAbsoluteFile().getParentFile();
    File weightsFolder = new File(weights).getAbsoluteFile().getParentFile();
    if (folder == null || !folder.equals(weightsFolder)) {
      throw new IllegalArgumentException(
          "ONNX Runtime reads a program's external data from the program's folder, under the name the"
              + " program records; put "
              + weights
              + " beside "
              + program);
    }
  }
}
