package org.frbench.bench.core;

import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

public class ExternalDataTest {
  @Test
  public void weightsBesideTheProgramPass() {
    ExternalData.checkBeside(
        "/data/local/tmp/frbench/runs/a/program.onnx",
        "/data/local/tmp/frbench/runs/a/weights_onnx.bin");
  }

  @Test
  public void weightsElsewhereFailNamingBothFiles() {
    try {
      ExternalData.checkBeside("/d/runs/a/program.onnx", "/d/weights_onnx.bin");
      fail("expected an IllegalArgumentException");
    } catch (IllegalArgumentException e) {
      assertTrue(
          e.getMessage(),
          e.getMessage().contains("put /d/weights_onnx.bin beside /d/runs/a/program.onnx"));
    }
  }
}
