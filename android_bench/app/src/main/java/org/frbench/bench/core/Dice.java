package org.frbench.bench.core;

import java.util.Arrays;

/**
 * Dice on the foreground, as milesial/Pytorch-UNet computes it and the FR paper reports it.
 *
 * <p>Prediction: logits (1, C, H, W) become a foreground mask P, where foreground is {@code argmax
 * over C == 1} (the first maximum wins on ties, as numpy's and torch's argmax), or {@code logit >
 * 0} when C == 1. Per image: {@code (2*sum(P*G) + 1e-6) / (sum(P) + sum(G) + 1e-6)}; the
 * reported Dice is the mean over images. An image with no foreground in either P or G scores 1.
 */
public final class Dice {
  /** The smoothing term of milesial's {@code dice_coeff}. */
  public static final double EPS = 1e-6;

  private Dice() {}

  /**
   * The predicted foreground mask (H*W bytes of 0/1) from logits of shape (1, C, H, W); the shape
   * must match the test image's height and width.
   */
  public static byte[] foreground(float[] logits, long[] shape, int height, int width) {
    if (shape == null
        || shape.length != 4
        || shape[0] != 1
        || shape[1] < 1
        || shape[2] != height
        || shape[3] != width) {
      throw new IllegalArgumentException(
          "output shape "
              + Arrays.toString(shape)
              + " is not (1, C, "
              + height
              + ", "
              + width
              + ") for an input of "
              + height
              + "x"
              + width);
    }
    int classes = (int) shape[1];
    int pixels = height * width;
    if (logits.length != (long) classes * pixels) {
      throw new IllegalArgumentException(
          "output has " + logits.length + " values but shape " + Arrays.toString(shape));
    }
    byte[] p = new byte[pixels];
    if (classes == 1) {
      for (int i = 0; i < pixels; i++) {
        p[i] = logits[i] > 0f ? (byte) 1 : (byte) 0;
      }
      return p;
    }
    for (int i = 0; i < pixels; i++) {
      int best = 0;
      float bestValue = logits[i];
      for (int k = 1; k < classes; k++) {
        float v = logits[k * pixels + i];
        if (v > bestValue || (Float.isNaN(v) && !Float.isNaN(bestValue))) {
          // NaN counts as the maximum, as in numpy's argmax.
          best = k;
          bestValue = v;
        }
      }
      p[i] = best == 1 ? (byte) 1 : (byte) 0;
    }
    return p;
  }

  /** Dice of two 0/1 masks of the same size. */
  public static double dice(byte[] predicted, byte[] truth) {
    if (predicted.length != truth.length) {
      throw new IllegalArgumentException(
          "dice: prediction has " + predicted.length + " pixels, mask " + truth.length);
    }
    long inter = 0;
    long sumP = 0;
    long sumG = 0;
    for (int i = 0; i < predicted.length; i++) {
      int p = predicted[i] != 0 ? 1 : 0;
      int g = truth[i] != 0 ? 1 : 0;
      inter += p & g;
      sumP += p;
      sumG += g;
    }
    return (2.0 * inter + EPS) / ((double) (sumP + sumG) + EPS);
  }

  /** The mean Dice over images ({@code np.mean(per_image)}); null-safe callers pass n >= 1. */
  public static double mean(double[] perImage) {
    if (perImage.length == 0) {
      throw new IllegalArgumentException("dice: no images");
    }
    return Stats.mean(perImage, 0, perImage.length);
  }
}
