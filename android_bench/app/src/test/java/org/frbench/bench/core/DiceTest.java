package org.frbench.bench.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

public class DiceTest {
  @Test
  public void emptyPredictionAndEmptyMaskScoreOne() {
    assertEquals(1.0, Dice.dice(new byte[4], new byte[4]), 0);
  }

  @Test
  public void disjointMasksScoreAboutZero() {
    double d = Dice.dice(new byte[] {1, 1, 0, 0}, new byte[] {0, 0, 1, 1});
    assertEquals(1e-6 / (4 + 1e-6), d, 1e-18);
    assertTrue(d < 1e-6);
  }

  @Test
  public void perfectPredictionScoresOne() {
    byte[] m = {1, 0, 1, 1, 0};
    assertEquals(1.0, Dice.dice(m, m.clone()), 0);
  }

  @Test
  public void partialOverlapByHand() {
    // P = {0, 1}, G = {0, 2}: 2*1 / (2 + 2)
    double d = Dice.dice(new byte[] {1, 1, 0, 0}, new byte[] {1, 0, 1, 0});
    assertEquals((2 + 1e-6) / (4 + 1e-6), d, 1e-15);
  }

  @Test
  public void singleChannelThresholdsAtZero() {
    float[] logits = {-1f, 0f, 0.5f, 3f};
    byte[] p = Dice.foreground(logits, new long[] {1, 1, 2, 2}, 2, 2);
    assertArrayEquals(new byte[] {0, 0, 1, 1}, p);
  }

  @Test
  public void twoChannelsTakeTheArgmax() {
    // pixel: 0 1 2 3; class 0 then class 1 planes
    float[] logits = {5f, 0f, 1f, 2f, 1f, 3f, 1f, -2f};
    byte[] p = Dice.foreground(logits, new long[] {1, 2, 2, 2}, 2, 2);
    // ties (pixel 2) go to the first maximum, class 0 (background), as numpy's argmax
    assertArrayEquals(new byte[] {0, 1, 0, 0}, p);
  }

  @Test
  public void onlyClassOneIsForegroundWithThreeClasses() {
    // 1 pixel: class 2 wins -> background; second pixel class 1 wins -> foreground
    float[] logits = {0f, 0f, 1f, 5f, 2f, 1f};
    byte[] p = Dice.foreground(logits, new long[] {1, 3, 1, 2}, 1, 2);
    assertArrayEquals(new byte[] {0, 1}, p);
  }

  @Test
  public void wrongOutputShapeIsReported() {
    try {
      Dice.foreground(new float[8], new long[] {1, 2, 2, 2}, 4, 4);
      fail("expected an exception");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage(), e.getMessage().startsWith("output shape [1, 2, 2, 2]"));
    }
    try {
      Dice.foreground(new float[7], new long[] {1, 2, 2, 2}, 2, 2);
      fail("expected an exception");
    } catch (IllegalArgumentException e) {
      assertTrue(e.getMessage(), e.getMessage().contains("7 values"));
    }
  }

  @Test
  public void meanOverImages() {
    assertEquals(0.5, Dice.mean(new double[] {1.0, 0.0}), 0);
  }

  @Test(expected = IllegalArgumentException.class)
  public void sizesMustMatch() {
    Dice.dice(new byte[3], new byte[4]);
  }
}
